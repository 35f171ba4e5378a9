"""Writing the report folder: ``--out DIR`` only ever replaces a report kbz_eval wrote.

What may be replaced
--------------------
``DIR`` must be absent, an empty folder, or a report folder written by this package:
a ``manifest.json`` with ``"kbz_eval_report": true`` whose ``files`` list every file in
the folder. Reports written before that marker existed are accepted too when their
``manifest.json`` has the keys ``files``, ``inputs`` and ``packages`` (with
``kbz_eval``) and ``report.html`` is present. Everything else is refused with
:class:`OutputFolderError` before any work is done, and nothing is written or moved:

- a file (or anything else that is not a folder);
- a folder holding anything the report did not write (a user's folder, the repository
  with its ``.git``, a report folder someone added notes to);
- a folder that is or contains the working directory, the configuration file, an input
  or mapping file, an input folder or the open data folder (so ``--out .``, ``--out ..``
  and ``--out ../<this folder>`` are refused);
- a folder inside an input folder or the open data folder, where the next run would
  read the report as input.

Paths are compared after resolving symbolic links, and by device and inode, so a link
or a different spelling of the same folder is recognised.

How it is replaced
------------------
The report is built in a staging folder ``.DIR.tmp-<pid>-<hex>`` beside ``DIR`` and
takes ``DIR``'s place only once complete, so the user-visible ``DIR`` is always a real
folder holding one complete report (``DIR/report.html``, ``DIR/tables/...``):

- ``DIR`` absent: ``rename(staging, DIR)``.
- ``DIR`` present: ``renameat2(staging, DIR, RENAME_EXCHANGE)`` swaps the two folders in
  one atomic step (Linux 3.15+, glibc 2.28+; ext4, xfs, btrfs, tmpfs and overlayfs
  support it). The staging name then holds the previous report, which is deleted.
- Where the exchange is not available, ``DIR`` is renamed to ``.DIR.old-<pid>-<hex>``
  and the staging folder to ``DIR``, then the old folder is deleted. A run killed
  between those two renames leaves the previous report under the ``.old`` name; the
  next run renames it back before doing anything else.

A mount point cannot be renamed (``EBUSY``), and a folder cannot be renamed across file
systems (``EXDEV``). When ``DIR`` is a mount point, or its parent cannot be written, the
staging folder is made inside it (``DIR/.kbz-tmp-<pid>-<hex>``) and the files are moved
into place one by one with ``os.replace`` (each file atomically, the folder as a whole
not): a ``manifest.json`` listing the previous and the new files is written first, the
previous report's files the new one lacks are deleted, the new files are moved in, and
the final ``manifest.json`` goes last. Nothing the previous manifest does not list is
touched. A swap that fails with ``EBUSY`` or ``EXDEV`` at the end of a run (a bind
mount that :func:`os.path.ismount` does not see) falls back to the same, after copying
the built files into ``DIR``.

Concurrent runs, interruptions and leftovers
--------------------------------------------
A run holds an exclusive, non-blocking ``flock`` on ``.DIR.lock`` beside ``DIR`` (on
``DIR/.kbz-report.lock`` when the staging folder is inside ``DIR``); a second run to the
same folder stops at once with :class:`ReportBusyError` naming the pid of the first. The
lock file is removed when the run ends.

While the report is written, SIGTERM raises :class:`Terminated` (a
:class:`KeyboardInterrupt`) when no other handler is installed, so ``kill`` gets the
same clean-up as Ctrl-C: the staging folder is removed and the previous report stays.
SIGINT and SIGTERM arriving during the final swap are held until it is done.

SIGKILL (or a power cut) leaves the staging folder behind. The next run to the same
``DIR``, once it holds the lock, deletes leftovers whose names match the patterns above
and whose pid is no longer running; other names are never touched.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import re
import secrets
import shutil
import signal
import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path, PurePosixPath
from types import FrameType, TracebackType
from typing import Any

from kbz_eval.errors import KbzEvalError, SpecificationError
from kbz_eval.report.manifest import REPORT_MARKER, write_manifest

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

MANIFEST = "manifest.json"
#: Prefix of a staging folder made inside the report folder (mount points).
INNER_PREFIX = ".kbz-tmp-"
#: The lock file inside the report folder, used when its parent cannot be written.
INNER_LOCK = ".kbz-report.lock"
#: Files a file manager adds to a folder someone opened: not counted as anyone's work.
IGNORED_FILES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_UNSUPPORTED = {errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EPERM}
_NOT_HERE = {errno.EBUSY, errno.EXDEV}


class OutputFolderError(SpecificationError):
    """``--out`` names something a report may not replace (nothing was written)."""


class ReportBusyError(KbzEvalError):
    """Another run is writing the same report folder."""


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived while a report was being written; handled like Ctrl-C."""


# ---------------------------------------------------------------------------
# what a folder is


def _safe_name(name: object) -> bool:
    """Whether ``name`` is a relative POSIX path inside a folder (no ``..``)."""
    if not isinstance(name, str) or not name or "\\" in name or "\x00" in name:
        return False
    path = PurePosixPath(name)
    return (not path.is_absolute() and path.as_posix() == name
            and all(part not in ("", ".", "..") for part in path.parts))


def report_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest of a report folder kbz_eval wrote, or ``None`` if it is not one.

    Parameters
    ----------
    folder
        The folder to look at.

    Returns
    -------
    dict or None
        The parsed ``manifest.json`` when it carries the report marker, or when it is a
        manifest of an earlier version (keys ``files``, ``inputs``, ``packages`` with
        ``kbz_eval``, and a ``report.html`` beside it); ``None`` otherwise.
    """
    path = folder / MANIFEST
    if path.is_symlink() or not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    files = data.get("files")
    if not isinstance(files, list) or not all(_safe_name(f) for f in files):
        return None
    if data.get(REPORT_MARKER) is True:
        return data
    packages = data.get("packages")
    earlier = (isinstance(data.get("inputs"), dict) and isinstance(packages, dict)
               and "kbz_eval" in packages and (folder / "report.html").is_file())
    return data if earlier else None


def _foreign(folder: Path, manifest: dict[str, Any] | None, *, mount: bool) -> list[str]:
    """Entries of ``folder`` that its report manifest does not account for (a folder
    that cannot be read counts as one)."""
    owned = set(manifest["files"]) | {MANIFEST} if manifest else set()
    owned_dirs = {p.as_posix() for f in owned for p in PurePosixPath(f).parents}
    found: list[str] = []

    def unreadable(exc: OSError) -> None:
        name = Path(exc.filename or folder)
        rel = name.relative_to(folder).as_posix() if name != folder else "."
        found.append(f"{rel}/ (cannot be read: {exc.strerror})")

    for root, dirnames, filenames in os.walk(folder, onerror=unreadable):
        rel_root = Path(root).relative_to(folder)
        top = rel_root == Path(".")
        for name in list(dirnames):
            rel = (rel_root / name).as_posix()
            dirnames.remove(name)
            if top and (_INNER_RE.match(name) or (mount and name == "lost+found")):
                continue
            if rel in owned_dirs and not os.path.islink(os.path.join(root, name)):
                dirnames.append(name)
            else:
                found.append(rel + "/")
        for name in filenames:
            rel = (rel_root / name).as_posix()
            if name in IGNORED_FILES or (top and name == INNER_LOCK):
                continue
            if rel not in owned or os.path.islink(os.path.join(root, name)):
                found.append(rel)
    return sorted(found)


def _within(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or inside it (resolved paths; by inode if both
    exist, so another spelling of the same folder counts)."""
    if path == folder or folder in path.parents:
        return True
    try:
        target = folder.stat()
    except OSError:
        return False
    for p in (path, *path.parents):
        try:
            if os.path.samestat(p.stat(), target):
                return True
        except OSError:
            continue
    return False


def _shown(given: Path, resolved: Path) -> str:
    return str(given) if Path(os.path.abspath(given)) == resolved else \
        f"{given} (= {resolved})"


def check_destination(out: str | Path, *, protected: Mapping[str, Path] | None = None,
                      input_folders: Iterable[Path] = ()) -> Path:
    """Check that ``out`` may receive a report; return it resolved.

    Parameters
    ----------
    out
        The output folder as the user gave it.
    protected
        Description → path of everything the report must never replace (the working
        directory, the configuration file, the inputs, ...).
    input_folders
        Folders the report reads; ``out`` may not lie inside one.

    Returns
    -------
    Path
        ``out`` with symbolic links resolved.

    Raises
    ------
    OutputFolderError
        When ``out`` is a file, is or contains a protected path, lies inside an input
        folder, or is a folder holding anything a kbz report did not write.
    """
    given = Path(out)
    target = given.resolve()
    shown = _shown(given, target)
    if not target.name:
        raise OutputFolderError(f"--out {shown}: the root folder cannot be a report folder.")
    if target.exists() and not target.is_dir():
        raise OutputFolderError(
            f"--out {shown} is a file, not a folder; the report would replace it. Give "
            "the name of a new folder, an empty folder or an earlier report's folder.")
    for what, path in (protected or {}).items():
        if _within(Path(path).resolve(), target):
            raise OutputFolderError(
                f"--out {shown} is or contains {what} ({path}); the report replaces its "
                "output folder as a whole, so it would be deleted. Give a folder of its "
                "own, e.g. --out reports/kbz.")
    for folder in input_folders:
        folder = Path(folder).resolve()
        if _within(target, folder):
            raise OutputFolderError(
                f"--out {shown} lies inside the input folder {folder}; the next run would "
                "read the report as input. Write it elsewhere.")
    _check_owned(target, shown, mount=target.is_dir() and os.path.ismount(target))
    return target


def _check_owned(target: Path, shown: str, *, mount: bool) -> dict[str, Any] | None:
    """The manifest of the report in ``target`` (``None`` if absent or empty), or
    :class:`OutputFolderError` when ``target`` holds anything else."""
    if not target.is_dir():
        return None
    manifest = report_manifest(target)
    extra = _foreign(target, manifest, mount=mount)
    if not extra:
        return manifest
    listed = ", ".join(extra[:5]) + (f" and {len(extra) - 5} more" if len(extra) > 5 else "")
    if manifest is None:
        raise OutputFolderError(
            f"--out {shown} is a folder kbz-eval did not write (it holds {listed} and no "
            "kbz report manifest.json); the report only replaces its own output, so "
            "nothing was changed. Give a new or empty folder.")
    raise OutputFolderError(
        f"--out {shown} is a kbz report, but it also holds files the report did not "
        f"write: {listed}. Replacing the report would delete them, so nothing was "
        "changed: move them out of the folder or give another --out.")


# ---------------------------------------------------------------------------
# processes, locks and signals


def _alive(pid: int) -> bool:
    """Whether a process ``pid`` runs (conservatively ``True`` where it cannot be told)."""
    if pid == os.getpid():
        return False  # an earlier process with our pid: this one has made nothing yet
    if pid <= 0 or os.name != "posix":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _try_lock(fd: int) -> bool:
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True
    import msvcrt  # pragma: no cover - Windows

    try:  # pragma: no cover - Windows
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError:  # pragma: no cover - Windows
        return False
    return True  # pragma: no cover - Windows


def _holder(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 64).decode("ascii", "replace").strip()
    except OSError:
        text = ""
    return f"pid {text}" if text.isdigit() else "pid unknown"


class _Lock:
    """An exclusive lock file holding the owner's pid; the file is removed on release."""

    def __init__(self, path: Path, shown: str) -> None:
        self.path = path
        self.shown = shown
        self.fd: int | None = None

    def acquire(self) -> None:
        for _ in range(50):
            fd: int | None = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                if not _try_lock(fd):
                    raise ReportBusyError(
                        f"another kbz-eval report is writing {self.shown} ({_holder(fd)}); "
                        f"wait for it to finish or stop it, then run again (lock file "
                        f"{self.path}).")
                try:  # the previous holder may have removed the file before we locked it
                    current = os.path.samestat(os.fstat(fd), os.stat(self.path))
                except FileNotFoundError:
                    current = False
                if current:
                    os.ftruncate(fd, 0)
                    os.lseek(fd, 0, os.SEEK_SET)
                    os.write(fd, f"{os.getpid()}\n".encode("ascii"))
                    self.fd, fd = fd, None
                    return
            finally:
                if fd is not None:
                    os.close(fd)
        raise ReportBusyError(f"could not lock {self.path}: it keeps being replaced.")

    def release(self) -> None:
        if self.fd is None:
            return
        with contextlib.suppress(OSError):
            os.unlink(self.path)  # still locked: a waiting run re-opens the new file
        os.close(self.fd)
        self.fd = None


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated(f"terminated by signal {signum}")


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block is done, then deliver them as usual."""
    if threading.current_thread() is not threading.main_thread():
        yield  # handlers run in the main thread only: this block is not interrupted
        return
    received: list[int] = []
    previous: dict[int, Any] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(sig) is not None:
            previous[sig] = signal.signal(sig, lambda s, f: received.append(s))
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for sig in dict.fromkeys(received):
            signal.raise_signal(sig)


def _exchange(a: Path, b: Path) -> bool:
    """Swap folders ``a`` and ``b`` atomically; ``False`` where that is not supported.

    Raises
    ------
    OSError
        On any other failure (``EBUSY`` for a mount point, ``EXDEV`` across file
        systems, ...).
    """
    renameat2 = _renameat2()
    if renameat2 is None:
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b),
                 _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in _UNSUPPORTED:
        return False
    raise OSError(code, os.strerror(code), str(a), None, str(b))


def _renameat2() -> Any:
    """libc's ``renameat2`` (Linux, glibc 2.28+), or ``None``."""
    if not hasattr(os, "uname") or os.uname().sysname != "Linux":
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        func = libc.renameat2
    except (OSError, AttributeError):
        return None
    func.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                     ctypes.c_uint]
    func.restype = ctypes.c_int
    return func


# ---------------------------------------------------------------------------
# the report folder


_INNER_RE = re.compile(rf"^{re.escape(INNER_PREFIX)}(\d+)-[0-9a-f]+$")


def _remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


class ReportFolder:
    """The output folder of one run: checked, locked, staged and replaced as a whole.

    Use as a context manager; build the report into :attr:`work`, then call
    :meth:`commit`. Leaving the block without :meth:`commit` (an error, Ctrl-C,
    SIGTERM) removes the staging folder and leaves ``out`` as it was.

    Parameters
    ----------
    out
        The output folder as the user gave it.
    protected, input_folders
        As in :func:`check_destination`, which runs here, before anything is written.

    Attributes
    ----------
    path
        ``out`` with symbolic links resolved.
    work
        The staging folder (inside the ``with`` block).
    """

    def __init__(self, out: str | Path, *, protected: Mapping[str, Path] | None = None,
                 input_folders: Iterable[Path] = ()) -> None:
        self.given = Path(out)
        self.path = check_destination(out, protected=protected, input_folders=input_folders)
        self.shown = _shown(self.given, self.path)
        self.work: Path | None = None
        self._inside = False
        self._inner: Path | None = None
        self._lock: _Lock | None = None
        self._previous: dict[str, Any] | None = None
        self._sigterm: Any = None
        self._pattern = re.compile(
            rf"^\.{re.escape(self.path.name)}\.(tmp|old)-(\d+)-[0-9a-f]+$")

    # -- entering and leaving

    def __enter__(self) -> ReportFolder:
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL):
            self._sigterm = signal.signal(signal.SIGTERM, _raise_terminated)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._inside = self.path.is_dir() and (
                os.path.ismount(self.path) or not os.access(self.path.parent, os.W_OK))
            lock = self.path / INNER_LOCK if self._inside else \
                self.path.parent / f".{self.path.name}.lock"
            self._lock = _Lock(lock, self.shown)
            self._lock.acquire()
            self._clean_leftovers()
            # the folder may have changed since the first check: check again, locked
            self._previous = _check_owned(self.path, self.shown,
                                          mount=self._inside and os.path.ismount(self.path))
            if self._inside:
                self.work = self._inner = self._staging(self.path, INNER_PREFIX)
            else:
                self.work = self._staging(self.path.parent, f".{self.path.name}.tmp-")
        except BaseException:
            self._close()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._close()

    def _close(self) -> None:
        self._close_staging()
        if self._lock is not None:
            self._lock.release()
            self._lock = None
        if self._sigterm is not None:
            signal.signal(signal.SIGTERM, self._sigterm)
            self._sigterm = None

    @staticmethod
    def _staging(base: Path, prefix: str) -> Path:
        for _ in range(100):
            path = base / f"{prefix}{os.getpid()}-{secrets.token_hex(4)}"
            try:
                path.mkdir()
            except FileExistsError:
                continue
            return path
        raise FileExistsError(f"could not make a staging folder in {base}")

    def _clean_leftovers(self) -> None:
        """Delete staging folders of dead runs; put back a report a killed run had moved
        aside. Runs with the lock held, so no live run owns what it deletes."""
        stale: list[tuple[str, Path]] = []
        with contextlib.suppress(OSError):
            for entry in self.path.parent.iterdir():
                m = self._pattern.match(entry.name)
                if m and entry.is_dir() and not entry.is_symlink() and not _alive(int(m[2])):
                    stale.append((m[1], entry))
        if not os.path.lexists(self.path):
            for kind, entry in sorted(stale):
                if kind == "old" and report_manifest(entry) is not None:
                    os.rename(entry, self.path)
                    stale.remove((kind, entry))
                    break
        for _, entry in stale:
            _remove(entry)
        if self.path.is_dir():
            for entry in self.path.iterdir():
                m = _INNER_RE.match(entry.name)
                if m and entry.is_dir() and not entry.is_symlink() and not _alive(int(m[1])):
                    _remove(entry)

    # -- putting the report in place

    def commit(self) -> None:
        """Put the complete report in :attr:`work` in place of ``out``.

        Raises
        ------
        OSError
            When the file system refuses; ``out`` then still holds the previous report
            (or, if the failure came while moving files into a mount point one by one,
            a mix whose manifest lists every file).
        """
        if self.work is None:
            raise RuntimeError("commit() outside the with block")
        with _signals_held():
            if self._inside:
                self._install(self.work)
            else:
                try:
                    self._swap()
                except OSError as exc:
                    if exc.errno not in _NOT_HERE:
                        raise
                    self._copy_in()
        self._close_staging()

    def _close_staging(self) -> None:
        for folder in (self.work, self._inner):
            if folder is not None and os.path.lexists(folder):
                _remove(folder)
        self.work = self._inner = None

    def _swap(self) -> None:
        assert self.work is not None
        if not os.path.lexists(self.path):
            os.rename(self.work, self.path)
            self.work = None
        elif _exchange(self.work, self.path):
            pass  # the staging name now holds the previous report; it is removed after
        else:
            old = self.path.parent / f".{self.path.name}.old-{os.getpid()}-" \
                                     f"{secrets.token_hex(4)}"
            os.rename(self.path, old)
            try:
                os.rename(self.work, self.path)
            except BaseException:
                os.rename(old, self.path)
                raise
            self.work = None
            _remove(old)

    def _copy_in(self) -> None:
        """Copy the built report into a staging folder inside ``out`` and install it."""
        assert self.work is not None
        self.path.mkdir(exist_ok=True)
        self._inner = self._staging(self.path, INNER_PREFIX)
        shutil.copytree(self.work, self._inner, dirs_exist_ok=True)
        self._install(self._inner)

    def _install(self, staged: Path) -> None:
        """Move the files of ``staged`` (inside ``out``) into place one by one."""
        manifest = json.loads((staged / MANIFEST).read_text(encoding="utf-8"))
        new = list(manifest["files"])
        old = set(self._previous["files"]) if self._previous else set()
        # first a manifest that owns every file present during the move, so that a run
        # killed half-way leaves a folder the next run recognises and replaces
        write_manifest(staged / f"{MANIFEST}.part", {**manifest, "files": sorted(old | set(new))})
        os.replace(staged / f"{MANIFEST}.part", self.path / MANIFEST)
        for rel in sorted(old - set(new)):
            path = self.path / rel
            if path.is_file() and not path.is_symlink():
                path.unlink()
        for rel in new:
            dest = self.path / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged / rel, dest)
        os.replace(staged / MANIFEST, self.path / MANIFEST)
        emptied = {p for rel in old for p in PurePosixPath(rel).parents if p.name}
        for rel_dir in sorted(emptied, key=lambda p: len(p.parts), reverse=True):
            with contextlib.suppress(OSError):
                (self.path / rel_dir).rmdir()  # only if empty
