"""The HTML report in a real headless browser (Debian's Chromium + ChromeDriver).

It must render, every image must load, and the console must stay free of errors. A
screenshot is kept as a test artefact in ``reports/test-artefacts/``. `.ci/run` installs
Chromium where it is missing; outside CI the test skips, saying why, when it is absent.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ARTEFACTS = REPO / "reports" / "test-artefacts"


def _browser_paths() -> tuple[str, str]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not (chromium and driver):
        message = "Chromium and ChromeDriver are not installed (apt-get install chromium " \
                  "chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(message + "; .ci/run should have installed them")
        pytest.skip(message)
    return chromium, driver


@pytest.fixture(scope="module")
def html_report(shared_report_en) -> Path:
    """The English sample report (kbz.toml, 199 replicates; the open-data section is
    part of the page when the data exist), built once for the run."""
    return shared_report_en.folder


def _browser():
    chromium, driver_path = _browser_paths()
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1280,2000",
                 "--disable-dev-shm-usage"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver_path), options=options)


def _wait_loaded(browser, seconds: float = 60.0) -> None:
    """Wait until the page has loaded (every image included). ``get`` returns at the
    load event in most runs, but a loaded machine can give back control while the page
    is still loading; the test is about the page, not the machine's speed."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, seconds, poll_frequency=0.1).until(
        lambda b: b.execute_script("return document.readyState") == "complete")
    assert browser.execute_script("return document.readyState") == "complete"


def test_report_renders_in_headless_chromium(html_report):
    browser = _browser()
    try:
        browser.get((html_report / "report.html").as_uri())
        _wait_loaded(browser)
        assert "Krachtige basiszorg" in browser.title
        images = browser.execute_script(
            "return Array.from(document.images).map(i => "
            "[i.alt, i.complete, i.naturalWidth, i.naturalHeight]);")
        assert len(images) >= 10
        from conftest import shared_data_dir

        if shared_data_dir() is not None:
            assert any(alt.startswith("Open data") for alt, *_ in images)
        broken = [alt for alt, done, w, h in images if not (done and w > 0 and h > 0)]
        assert not broken, f"images that did not load: {broken}"
        panels = browser.execute_script(
            "return document.querySelectorAll('.aim').length;")
        assert panels == 4
        height = browser.execute_script("return document.body.scrollHeight;")
        assert height > 3000, "the page did not lay out its sections"
        errors = [e for e in browser.get_log("browser") if e.get("level") == "SEVERE"]
        assert not errors, f"console errors: {errors}"
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        assert browser.save_screenshot(str(ARTEFACTS / "report.png"))
    finally:
        browser.quit()


def test_a_practice_page_renders_in_headless_chromium(html_report):
    """A practice's page, reached from report.html through the index of the pages: it
    renders, its figures load, nothing is wider than a 1,280-pixel window, and the
    console stays free of errors."""
    browser = _browser()
    try:
        browser.get((html_report / "report.html").as_uri())
        index = browser.execute_script(
            "return document.getElementById('practice-pages').href;")
        browser.get(index)
        _wait_loaded(browser)
        pages = browser.execute_script(
            "return Array.from(document.querySelectorAll('td a')).map(a => a.href);")
        assert len(pages) == 12
        page = next(href for href in pages if href.endswith("/OV03.html"))
        browser.get(page)
        _wait_loaded(browser)
        assert "Practice OV03" in browser.title
        images = browser.execute_script(
            "return Array.from(document.images).map(i => "
            "[i.alt, i.complete, i.naturalWidth, i.naturalHeight]);")
        assert len(images) == 4
        broken = [alt for alt, done, w, h in images if not (done and w > 0 and h > 0)]
        assert not broken, f"images that did not load: {broken}"
        width = browser.execute_script("return window.innerWidth;")
        assert width <= 1280
        overflow = browser.execute_script(
            "return document.documentElement.scrollWidth - "
            "document.documentElement.clientWidth;")
        assert overflow <= 0, f"the page is {overflow} px wider than the window"
        wide = browser.execute_script(
            "const w = document.documentElement.clientWidth;"
            "return Array.from(document.querySelectorAll('img, table, p, h1, h2'))"
            ".filter(e => e.getBoundingClientRect().right > w + 1).length;")
        assert wide == 0
        sections = browser.execute_script(
            "return Array.from(document.querySelectorAll('h2')).map(h => h.id);")
        assert sections == ["funnel", "trends", "ranking", "ivm"]
        errors = [e for e in browser.get_log("browser") if e.get("level") == "SEVERE"]
        assert not errors, f"console errors: {errors}"
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        assert browser.save_screenshot(str(ARTEFACTS / "practice_page.png"))
    finally:
        browser.quit()


def test_no_table_or_figure_overflows_the_report_at_1280_px(html_report):
    """Every table opened (the details expanded): the page is no wider than a
    1,280-pixel window; a wide table scrolls inside its own box; every figure and
    heading fits; long tables show their first rows and link the whole CSV."""
    browser = _browser()
    try:
        browser.get((html_report / "report.html").as_uri())
        assert browser.execute_script("return window.innerWidth;") <= 1280
        opened = browser.execute_script(
            "const d = document.querySelectorAll('details');"
            "d.forEach(e => e.open = true); return d.length;")
        assert opened >= 10
        overflow = browser.execute_script(
            "return document.documentElement.scrollWidth - "
            "document.documentElement.clientWidth;")
        assert overflow <= 0, f"the page is {overflow} px wider than the window"
        loose = browser.execute_script(
            "return Array.from(document.querySelectorAll('table'))"
            ".filter(t => !t.parentElement.classList.contains('scroll')).length;")
        assert loose == 0, "a table outside a scrolling box"
        wide = browser.execute_script(
            "const w = document.documentElement.clientWidth;"
            "return Array.from(document.querySelectorAll('img, .scroll, p, h1, h2, li'))"
            ".filter(e => e.getBoundingClientRect().right > w + 1)"
            ".map(e => e.tagName + ' ' + (e.alt || e.textContent.slice(0, 40)));")
        assert not wide, f"elements wider than the window: {wide}"
        rows = browser.execute_script(
            "return Math.max(...Array.from(document.querySelectorAll('table'))"
            ".map(t => t.rows.length));")
        assert rows <= 41  # a header and at most LONG_TABLE rows
        links = browser.execute_script(
            "return Array.from(document.querySelectorAll('a'))"
            ".map(a => a.getAttribute('href')).filter(h => h && h.endsWith('.csv'));")
        for href in links:
            assert (html_report / href).is_file(), href
    finally:
        browser.quit()
