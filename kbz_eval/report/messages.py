"""The report's sentences in Dutch and English: one message catalogue.

The analyses write their method texts, caveats and headline sentences in English, with
their numbers, years and names filled in. :data:`CATALOGUE` holds every such sentence
as an English template with named placeholders and its Dutch template;
:func:`localise` splits a text into sentences, matches each against the compiled
templates and writes it again in the report's language, numbers in that language's
marks (:mod:`kbz_eval.report.formatting`). :func:`untranslated` lists the sentences
that have no template: a test keeps that list empty for the sample report.

Placeholders are written ``{name}`` (a number), ``{name:year}`` (a year, cohort or
other whole number written without separators), ``{name:text}`` (words passed through
as they are: names of columns, practices, files), ``{name:nums}`` (words passed
through with every number in them rewritten), ``{name:term}`` (words that must be
listed in :data:`TERMS`, or hold no words, such as practice ids) or ``{name:frag}`` (a
phrase that has a template of its own, such as an interval inside a headline). Text
placeholders never span a semicolon; a sentence without a template of its own is
matched clause by clause (at "; "). The Dutch template names the same
placeholders without their kind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from kbz_eval.report import formatting as fmt

#: Words and phrases filled into ``{name:term}`` placeholders, and their Dutch.
TERMS: dict[str, str] = {
    # populations
    "minima person-years, i.e. on the municipal low-income policy that year":
        "persoonsjaren van minima, d.w.z. in dat jaar onder het gemeentelijk minimabeleid",
    "all insured person-years": "alle verzekerde persoonsjaren",
    "minima": "minima",
    "all": "alle verzekerden",
    # interval kinds
    "BCa (bias-corrected and accelerated)": "BCa, gecorrigeerd voor vertekening en scheefheid",
    "percentile": "percentiel",
    # references, periods, groups
    "all person-years analysed (both groups, all analysed years)":
        "alle geanalyseerde persoonsjaren (beide groepen, alle geanalyseerde jaren)",
    "all analysed person-years": "alle geanalyseerde persoonsjaren",
    "the control person-years analysed":
        "de geanalyseerde persoonsjaren van de controlepraktijken",
    "a user-supplied table of age band × sex rates":
        "een door de gebruiker aangeleverde tabel met tarieven naar leeftijdsklasse × "
        "geslacht",
    "pooled": "gepoold",
    "all years": "alle jaren",
    "kbz": "KBZ",
    "control": "controle",
    "none": "geen",
    "year": "jaar",
    "years": "jaar",
    " (assumption)": " (aanname)",
    "; the placebo pre-period fit is exact": "; de fit van de placebo in de voorperiode is exact",
    # areas
    "Netherlands": "Nederland",
    "Nederland": "Nederland",
    # indicators and measures
    "exercise_norm": "beweegnorm",
    "good_self_rated_health": "goed ervaren gezondheid",
    "good self-rated health": "goed ervaren gezondheid",
    "workload": "werkdruk",
    "job_satisfaction": "werkplezier",
    # random intercept of the workforce model
    "respondent": "respondent",
    "location": "locatie",
}

#: English sentence template → Dutch sentence template.
CATALOGUE: dict[str, str] = {
    # ------------------------------------------------------------ pipeline notes
    "Headline withheld: it rests on cells of fewer than {n} persons ({label:text}).":
        "Kernzin weggelaten: die rust op cellen van minder dan {n} personen ({label}).",
    "Figure withheld: it would show cells resting on fewer than {n} persons.":
        "Figuur weggelaten: die zou cellen tonen die op minder dan {n} personen rusten.",
    "Table '{name:text}' withheld: it has no disclosure declaration.":
        "Tabel '{name}' weggelaten: er is geen declaratie voor statistische "
        "geheimhouding.",
    "open data section skipped: {what:text} files not found in {folder:text} "
    "(see kbz.open_data.download)":
        "sectie open data overgeslagen: bestanden {what} niet gevonden in {folder} "
        "(zie kbz.open_data.download)",
    "Pre-trend test: largest |t| of {k} = {t}, p = {p}: zero pre-treatment effects not "
    "rejected (which does not show parallel trends hold)":
        "Pretrendtoets: grootste |t| van {k} = {t}, p = {p}: nuleffecten vóór de "
        "behandeling niet verworpen (wat niet aantoont dat de trends parallel lopen)",
    "Pre-trend test: largest |t| of {k} = {t}, p = {p}: zero pre-treatment effects "
    "rejected":
        "Pretrendtoets: grootste |t| van {k} = {t}, p = {p}: nuleffecten vóór de "
        "behandeling verworpen",
    # ------------------------------------------------------------ caveats
    "Only {k} KBZ and {c} control practices: the intervals and p-values are practice-level "
    "(wild cluster bootstrap-t with Webb weights, a method that holds with few practices) "
    "and wide; the row `{row:text}` shows the person-level interval (persons only — "
    "ignores variation between practices)":
        "Slechts {k} KBZ- en {c} controlepraktijken: de intervallen en p-waarden zijn op "
        "praktijkniveau (wild cluster bootstrap-t met Webb-gewichten, een methode die bij "
        "weinig praktijken standhoudt) en breed; de rij `{row}` toont het interval op "
        "persoonsniveau (alleen personen — negeert variatie tussen praktijken)",
    "Only {k} KBZ and {c} control practices: the intervals and p-values are practice-level "
    "(practice-level wild cluster bootstrap, a method that holds with few clusters), so "
    "they are wide; with so few practices they still rest on the practices being "
    "comparable apart from KBZ":
        "Slechts {k} KBZ- en {c} controlepraktijken: de intervallen en p-waarden zijn op "
        "praktijkniveau (wild cluster bootstrap op praktijkniveau, een methode die bij "
        "weinig clusters standhoudt), dus breed; met zo weinig praktijken rusten ze er nog "
        "steeds op dat de praktijken op KBZ na vergelijkbaar zijn",
    "Only {g} clusters ({t} with treated units, {c} with control units; fewer than "
    "few_clusters={f}): cluster-robust (CR1) standard errors and t-based p-values are "
    "unreliable with so few clusters and tend to be too small":
        "Slechts {g} clusters ({t} met behandelde eenheden, {c} met controle-eenheden; "
        "minder dan few_clusters={f}): clusterrobuuste (CR1) standaardfouten en p-waarden "
        "uit de t-verdeling zijn bij zo weinig clusters onbetrouwbaar en vaak te klein",
    "The wild cluster bootstrap p-value and interval are reported in row '{row:text}' and "
    "lead the headline; prefer them":
        "De p-waarde en het interval van de wild cluster bootstrap staan in rij '{row}' en "
        "bepalen de kernzin; geef daaraan de voorkeur",
    "Only {g} clusters of '{col:text}': the influence-function standard errors and bands "
    "rely on many clusters (say 30 or more) and may be too narrow; read the intervals with "
    "caution":
        "Slechts {g} clusters van '{col}': de standaardfouten en banden uit de "
        "invloedsfuncties veronderstellen veel clusters (zeg 30 of meer) en kunnen te smal "
        "zijn; lees de intervallen met voorzichtigheid",
    "{k} KBZ and {c} control practices: intervals and p-values are practice-level (wild "
    "cluster bootstrap-t, Webb weights; valid with few practices) and therefore wide; "
    "`{row:text}` shows the person-level interval (persons only — ignores variation "
    "between practices)":
        "{k} KBZ- en {c} controlepraktijken: intervallen en p-waarden zijn op "
        "praktijkniveau (wild cluster bootstrap-t, Webb-gewichten; geldig bij weinig "
        "praktijken) en daarom breed; `{row}` toont het interval op persoonsniveau (alleen "
        "personen — negeert variatie tussen praktijken)",
    "{k} KBZ and {c} control practices: the intervals and p-values are practice-level (wild "
    "cluster bootstrap-t, Webb weights; valid with few practices) and therefore wide; the "
    "`{row:text}` row shows the person-level interval (persons only — ignores variation "
    "between practices)":
        "{k} KBZ- en {c} controlepraktijken: de intervallen en p-waarden zijn op "
        "praktijkniveau (wild cluster bootstrap-t, Webb-gewichten; geldig bij weinig "
        "praktijken) en daarom breed; de rij `{row}` toont het interval op persoonsniveau "
        "(alleen personen — negeert variatie tussen praktijken)",
    "Exact pre-period fit (RMSPE at most 1e-06 x the series' level) for {unit:text} and {k} "
    "of {n} donors ({donors:text}): with {pre} pre-period years and {n2} donors the "
    "weights can reproduce the pre-period exactly (over-fitting), and a post/pre RMSPE "
    "ratio would rank floating-point round-off":
        "Exacte fit in de voorperiode (RMSPE hoogstens 1e-06 x het niveau van de reeks) "
        "voor {unit} en {k} van {n} donoren ({donors}): met {pre} jaren voorperiode en "
        "{n2} donoren kunnen de gewichten de voorperiode exact nabootsen (overfitting), en "
        "een post/pre-RMSPE-verhouding zou afrondingsruis rangschikken",
    "The weights of {unit:text} are not unique, so no placebo p-value is reported (see "
    "the range of the average gap)":
        "De gewichten van {unit} zijn niet uniek, dus er wordt geen placebo-p-waarde "
        "gegeven (zie de marge van het gemiddelde verschil)",
    "Only {k} pre-period years: the fit rests on very few points":
        "Slechts {k} jaren voorperiode: de fit rust op heel weinig punten",
    "The intervals rest on an assumed number of respondents ({counts:text}), not a "
    "published count; they are only as good as that assumption":
        "De intervallen rusten op een aangenomen aantal respondenten ({counts}), geen "
        "gepubliceerd aantal; ze zijn maar zo goed als die aanname",
    # ------------------------------------------------------------ savings
    "Cost per insured year of {outcome:text} ({pop:term}); group of a person-year = its "
    "practice's group (KBZ or control practices)":
        "Kosten per verzekerdejaar van {outcome} ({pop}); groep van een persoonsjaar = de "
        "groep van de praktijk (KBZ- of controlepraktijken)",
    "Counterfactual KBZ {y:year} = KBZ {b:year} × control {y2:year} / control {b2:year}; "
    "saving per person (per insured year) = counterfactual − actual KBZ {y3:year}; assumes "
    "KBZ costs would have grown at the control practices' rate":
        "Contrafeitelijk KBZ {y} = KBZ {b} × controle {y2} / controle {b2}; besparing per "
        "persoon (per verzekerdejaar) = contrafeitelijk − werkelijk KBZ {y3}; neemt aan dat "
        "de KBZ-kosten even snel zouden zijn gestegen als bij de controlepraktijken",
    "Total = saving × the KBZ insured years in {y:year}; net = total − extra financing; the "
    "net saving extra financing of EUR {f} (given); break-even financing = total":
        "Totaal = besparing × de KBZ-verzekerdejaren in {y}; netto = totaal − extra "
        "financiering; de netto besparing: extra financiering van EUR {f} (gegeven); "
        "break-evenfinanciering = totaal",
    "Total = saving × the KBZ insured years in {y:year}; net = total − extra financing; the "
    "net saving assumes extra financing of EUR {f} (assumption) — the seeds do not state "
    "the amount; break-even financing = total":
        "Totaal = besparing × de KBZ-verzekerdejaren in {y}; netto = totaal − extra "
        "financiering; de netto besparing gaat uit van extra financiering van EUR {f} "
        "(aanname) — de bronnen noemen het bedrag niet; break-evenfinanciering = totaal",
    "total_saving_persons = saving × persons (published-style approximation: saving per "
    "insured year × persons, not × insured years)":
        "total_saving_persons = besparing × personen (benadering zoals gepubliceerd: "
        "besparing per verzekerdejaar × personen, niet × verzekerdejaren)",
    "The row saving_per_person_persons_only gives {how:term} intervals from a person-level "
    "bootstrap stratified by group ({b} replicates, seed {seed:year}, all years of a person "
    "kept together) — persons only — ignores variation between practices":
        "De rij saving_per_person_persons_only geeft intervallen ({how}) uit een bootstrap "
        "op persoonsniveau, gestratificeerd naar groep ({b} replicaties, seed {seed}, alle "
        "jaren van een persoon samen) — alleen personen — negeert variatie tussen "
        "praktijken",
    "Age/sex-adjusted variant: group-year costs divided by expected costs (indirect "
    "standardisation on age band × sex, reference: {ref:term}), the counterfactual built "
    "on these O/E ratios and converted to euros with the KBZ expected cost per insured "
    "year in {y:year}; reference rates held fixed":
        "Variant gecorrigeerd voor leeftijd en geslacht: kosten per groep en jaar gedeeld "
        "door de verwachte kosten (indirecte standaardisatie op leeftijdsklasse × geslacht, "
        "referentie: {ref}), het contrafeitelijke op deze O/E-verhoudingen gebouwd en in "
        "euro's omgerekend met de verwachte KBZ-kosten per verzekerdejaar in {y}; "
        "referentietarieven vastgehouden",
    # ------------------------------------------------------------ DBC index
    "Poisson GLM (log link, offset log insured years) of {outcome:text} on person-years "
    "({pop:term}), years {years:text}":
        "Poisson-GLM (log-link, offset log verzekerdejaren) van {outcome} op persoonsjaren "
        "({pop}), jaren {years}",
    "Event-study model: one parameter per group × year; index = rate(year)/rate({b:year}) "
    "× 100 per group — a within-group change (not an effect), since the control practices "
    "changed too; event-study rate ratio = ratio of the KBZ and control indices, KBZ vs "
    "control practices (a secondary family: Holm-adjusted p-values in p_adjusted)":
        "Event-studymodel: één parameter per groep × jaar; index = rate(jaar)/rate({b}) × "
        "100 per groep — een verandering binnen de groep (geen effect), want ook de "
        "controlepraktijken veranderden; event-study-rateratio = verhouding van de KBZ- en "
        "controle-indices, KBZ tegenover controlepraktijken (een secundaire familie: "
        "Holm-gecorrigeerde p-waarden in p_adjusted)",
    "Pooled DiD: group + year + KBZ × (year ≥ {s:year}) terms, rate ratio = "
    "exp(interaction), an intention-to-treat contrast of KBZ practices against control "
    "practices (the primary effect)":
        "Gepoolde DiD: termen groep + jaar + KBZ × (jaar ≥ {s}), rateratio = "
        "exp(interactie), een intention-to-treat-contrast van KBZ-praktijken tegenover "
        "controlepraktijken (het primaire effect)",
    "Poisson with robust variances is chosen over a negative-binomial model, whose "
    "model-based variance is not robust to a wrong variance function":
        "Poisson met robuuste varianties heeft de voorkeur boven een negatief-binomiaal "
        "model, waarvan de modelgebaseerde variantie niet robuust is tegen een verkeerde "
        "variantiefunctie",
    "Every estimate is recomputed from the practices' sums of DBCs and insured years per "
    "cell, without each practice in turn and under each relabelling; intervals are formed "
    "on the log scale and exponentiated":
        "Elke schatting wordt opnieuw berekend uit de sommen van DBC's en verzekerdejaren "
        "per cel van de praktijken, telkens zonder één praktijk en onder elke herindeling; "
        "intervallen worden op de logschaal gevormd en terug-getransformeerd",
    "The row did_rate_ratio_persons_only gives the person-clustered (CR1) interval: "
    "persons only — ignores variation between practices":
        "De rij did_rate_ratio_persons_only geeft het interval geclusterd op personen "
        "(CR1): alleen personen — negeert variatie tussen praktijken",
    "The rates table is crude": "De tabel met rates is ongestandaardiseerd",
    # ------------------------------------------------------------ difference in differences
    "Estimand: the average treatment effect on the treated (ATT) of {treat:text} on "
    "{outcome:text}, identified under parallel trends (without treatment, treated and "
    "control units would have changed alike) and no anticipation":
        "Schatter-doel: het gemiddelde behandeleffect bij de behandelden (ATT) van {treat} "
        "op {outcome}, geïdentificeerd onder parallelle trends (zonder behandeling zouden "
        "behandelde en controle-eenheden gelijk zijn veranderd) en geen anticipatie",
    "Estimator: two-way fixed effects regression of the outcome on the treatment indicator "
    "with unit and time effects (unit effects absorbed by within-unit demeaning, time "
    "effects as period dummies; identical to the dummy-variable regression); with one "
    "common treatment start this is the difference-in-differences contrast (change in the "
    "treated minus change in the controls, after versus before {s:year})":
        "Schatter: regressie met vaste effecten in twee richtingen van de uitkomst op de "
        "behandelindicator, met eenheid- en tijdeffecten (eenheideffecten weggewerkt door "
        "centreren binnen de eenheid, tijdeffecten als periodedummy's; gelijk aan de "
        "dummyvariabelenregressie); bij één gemeenschappelijk begin van de behandeling "
        "is dit het verschil-in-verschillencontrast (verandering bij de behandelden min "
        "verandering bij de controles, na tegenover vóór {s})",
    "Covariates {cov:text} enter linearly (ATT conditional on them; they should not be "
    "affected by the treatment)":
        "Covariaten {cov} gaan lineair mee (ATT voorwaardelijk op deze covariaten; de "
        "behandeling mag ze niet beïnvloeden)",
    "Variance: CR1 cluster-robust by {cl:text}, the level at which treatment is assigned "
    "(the default) with G = {g} clusters, small-sample factor G/(G-1)·(N-1)/(N-K) = {f} "
    "with N = {n} and K = {k} (units are nested in clusters, so the absorbed unit effects "
    "are not counted in K); p-value and {level}% interval from the t distribution with "
    "G-1 = {df} degrees of freedom":
        "Variantie: CR1 clusterrobuust naar {cl}, het niveau waarop de behandeling wordt "
        "toegewezen (standaard), met G = {g} clusters, kleine-steekproeffactor "
        "G/(G-1)·(N-1)/(N-K) = {f} bij N = {n} en K = {k} (eenheden liggen genest in "
        "clusters, dus de weggewerkte eenheideffecten tellen niet mee in K); p-waarde en "
        "{level}%-interval uit de t-verdeling met G-1 = {df} vrijheidsgraden",
    "Wild cluster bootstrap, restricted (WCR: null imposed), one weight per cluster over "
    "{g} clusters, {b} draws of Webb six-point weights (used because there are fewer than "
    "{w} clusters); symmetric two-sided p-value of the cluster-robust t statistic; "
    "confidence interval by test inversion (all values not rejected at the chosen level)":
        "Wild cluster bootstrap, beperkt (WCR: nulhypothese opgelegd), één gewicht per "
        "cluster over {g} clusters, {b} trekkingen van Webb-zespuntsgewichten (gebruikt "
        "omdat er minder dan {w} clusters zijn); symmetrische tweezijdige p-waarde van de "
        "clusterrobuuste t-toetsgrootheid; betrouwbaarheidsinterval door inversie van de "
        "toets (alle waarden die op het gekozen niveau niet worden verworpen)",
    "Wild cluster bootstrap, restricted (WCR: null imposed), one weight per cluster over "
    "{g} clusters, {b} draws of Rademacher weights; symmetric two-sided p-value of the "
    "cluster-robust t statistic; confidence interval by test inversion (all values not "
    "rejected at the chosen level)":
        "Wild cluster bootstrap, beperkt (WCR: nulhypothese opgelegd), één gewicht per "
        "cluster over {g} clusters, {b} trekkingen van Rademacher-gewichten; symmetrische "
        "tweezijdige p-waarde van de clusterrobuuste t-toetsgrootheid; "
        "betrouwbaarheidsinterval door inversie van de toets (alle waarden die op het "
        "gekozen niveau niet worden verworpen)",
    "Its p-value counts the observed statistic, (1 + #{|t*| ≥ |t|}) / (1 + B), and it "
    "leads the headline":
        "De p-waarde telt de waargenomen toetsgrootheid mee, (1 + #{|t*| ≥ |t|}) / (1 + B), "
        "en bepaalt de kernzin",
    "Assumptions: parallel trends, no anticipation, a single common treatment start "
    "(staggered adoption is refused), no spill-over to control units, and errors "
    "independent between clusters":
        "Aannames: parallelle trends, geen anticipatie, één gemeenschappelijk begin van de "
        "behandeling (gespreide invoering wordt geweigerd), geen overloop naar "
        "controle-eenheden, en fouten onafhankelijk tussen clusters",
    # ------------------------------------------------------------ staggered roll-out
    "Group-time average treatment effects on the treated, ATT(g, t) (Callaway & Sant'Anna "
    "2021): for each cohort g (units first treated in period g of {start:text}) and period "
    "t, the change in {outcome:text} from the base period (varying base period) among "
    "cohort g, minus that among the comparison units (never-treated units), estimated by "
    "the doubly robust estimator of Sant'Anna & Zhao (2020) with no covariates; "
    "anticipation = {a} periods":
        "Gemiddelde behandeleffecten bij de behandelden per groep en periode, ATT(g, t) "
        "(Callaway & Sant'Anna 2021): voor elk cohort g (eenheden voor het eerst behandeld "
        "in periode g van {start}) en periode t de verandering in {outcome} sinds de "
        "basisperiode (wisselende basisperiode) in cohort g, min die bij de "
        "vergelijkingseenheden (nooit behandelde eenheden), geschat met de dubbel robuuste "
        "schatter van Sant'Anna & Zhao (2020) zonder covariaten; anticipatie = {a} "
        "perioden",
    "Identification: parallel trends (conditional on covariates) between each cohort and "
    "its comparison units, no anticipation beyond the stated periods, and overlap":
        "Identificatie: parallelle trends (voorwaardelijk op covariaten) tussen elk cohort "
        "en zijn vergelijkingseenheden, geen anticipatie voorbij de genoemde perioden, en "
        "overlap",
    "Aggregations weight ATT(g, t) by cohort size: simple (all post-treatment cells), by "
    "cohort, by event time t - g and by calendar period":
        "Aggregaties wegen ATT(g, t) naar cohortgrootte: eenvoudig (alle cellen na de "
        "behandeling), per cohort, per gebeurtenistijd t - g en per kalenderperiode",
    "Standard errors come from the influence functions (including the estimated weights "
    "of the aggregations), summed within clusters of {cl:text} ({g} clusters): "
    "sqrt(sum_c S_c^2) / n, R did's analytic SE when clusters are units":
        "Standaardfouten komen uit de invloedsfuncties (inclusief de geschatte gewichten "
        "van de aggregaties), opgeteld binnen clusters van {cl} ({g} clusters): "
        "sqrt(sum_c S_c^2) / n, de analytische SE van R-pakket did als clusters eenheden "
        "zijn",
    "ci_lower/ci_upper of the att_gt, dynamic, group and calendar tables are simultaneous "
    "{level}% bands (sup-t critical values from a Rademacher multiplier bootstrap with {b} "
    "replicates over clusters of {cl:text}, seed {seed:year}; att_gt: {crit}); p-values are "
    "pointwise":
        "ci_lower/ci_upper van de tabellen att_gt, dynamic, group en calendar zijn "
        "simultane {level}%-banden (sup-t-kritieke waarden uit een Rademacher-"
        "multiplierbootstrap met {b} replicaties over clusters van {cl}, seed {seed}; "
        "att_gt: {crit}); p-waarden zijn puntsgewijs",
    "Balanced panel of {n} units over {t} periods":
        "Gebalanceerd panel van {n} eenheden over {t} perioden",
    # ------------------------------------------------------------ Goodman-Bacon
    "Goodman-Bacon (2021) decomposition of the two-way fixed-effects coefficient on the "
    "treatment dummy (unit and period effects, balanced panel of {n} units over {t} "
    "periods) into {k} 2x2 difference-in-differences between timing groups, weighted by "
    "group sizes and the variance of treatment in each 2x2 sample (eqs. 10e-10g); the "
    "weights sum to 1 and the weighted estimates to the TWFE coefficient":
        "Goodman-Bacon-decompositie (2021) van de coëfficiënt van de behandeldummy in de "
        "regressie met vaste effecten in twee richtingen (eenheid- en periode-effecten, "
        "gebalanceerd panel van {n} eenheden over {t} perioden) in {k} 2x2-verschillen-in-"
        "verschillen tussen groepen naar startmoment, gewogen naar groepsgrootte en de "
        "variantie van de behandeling in elke 2x2-steekproef (vgl. 10e-10g); de gewichten "
        "tellen op tot 1 en de gewogen schattingen tot de TWFE-coëfficiënt",
    "{share}% of the weight is on comparisons whose controls are already treated: with "
    "effects that change over time these bias the TWFE estimate (possibly past zero); "
    "staggered_did avoids them":
        "{share}% van het gewicht ligt op vergelijkingen waarvan de controles al behandeld "
        "zijn: bij effecten die in de tijd veranderen vertekenen die de TWFE-schatting "
        "(mogelijk voorbij nul); staggered_did vermijdt ze",
    "No standard errors: a description of the estimate, not an inference":
        "Geen standaardfouten: een beschrijving van de schatting, geen inferentie",
    # ------------------------------------------------------------ GGZ
    "{outcome:text} per insured year ({pop:term}; group of a person-year = its practice's "
    "group), {b:year} → {f:year}: relative change per group (within-group changes, not "
    "effects) and per practice; the effect is the difference in changes, KBZ − control "
    "practices (primary outcome; ratio_of_changes restates it)":
        "{outcome} per verzekerdejaar ({pop}; groep van een persoonsjaar = de groep van de "
        "praktijk), {b} → {f}: relatieve verandering per groep (veranderingen binnen de "
        "groep, geen effecten) en per praktijk; het effect is het verschil in "
        "veranderingen, KBZ − controlepraktijken (primaire uitkomst; ratio_of_changes "
        "zegt hetzelfde anders)",
    "Decomposition: prevalence (share of person-years with {outcome:text} > 0) × cost per "
    "GGZ patient":
        "Ontleding: prevalentie (aandeel persoonsjaren met {outcome} > 0) × kosten per "
        "GGZ-patiënt",
    "Best practice: the largest fall among the KBZ practices — descriptive; the best of "
    "{k} KBZ practices is selected, so it overstates that practice's change; no p-value":
        "Beste praktijk: de grootste daling onder de KBZ-praktijken — beschrijvend; de "
        "beste van {k} KBZ-praktijken is uitgekozen, dus die overschat de verandering van "
        "die praktijk; geen p-waarde",
    "New patients: {outcome:text} > 0 in {f:year}, insured with {o2:text} = 0 in {b:year}; "
    "mean {f2:year} cost per person, KBZ − control (new_patient_difference: unadjusted, as "
    "published)":
        "Nieuwe patiënten: {outcome} > 0 in {f}, verzekerd met {o2} = 0 in {b}; "
        "gemiddelde kosten {f2} per persoon, KBZ − controle (new_patient_difference: "
        "ongecorrigeerd, zoals gepubliceerd)",
    "Because KBZ and control new patients may have differed before KBZ, the primary "
    "new-patient row divides the KBZ/control cost ratio by the ratio in the same "
    "comparison among new patients of {p:year} (cost > 0 in {p2:year}, insured with cost 0 "
    "in {p0:year}), before KBZ (difference in differences of the log cost ratio; "
    "new_patient_ratio_placebo shows the pre-existing ratio)":
        "Omdat nieuwe patiënten van KBZ- en controlepraktijken al vóór KBZ konden "
        "verschillen, deelt de primaire rij voor nieuwe patiënten de kostenverhouding "
        "KBZ/controle door de verhouding in dezelfde vergelijking onder nieuwe patiënten "
        "van {p} (kosten > 0 in {p2}, verzekerd met kosten 0 in {p0}), vóór KBZ (verschil "
        "in verschillen van de log-kostenverhouding; new_patient_ratio_placebo toont de "
        "al bestaande verhouding)",
    "Age/sex-adjusted new-patient rows: Gamma GLM, log link, KBZ + age group ({groups:text}) "
    "+ sex (with the placebo year: + follow period + KBZ × follow period), standardised "
    "EUR difference by the delta method; CR2 cluster sandwich by practice with "
    "Bell–McCaffrey t":
        "Rijen voor nieuwe patiënten gecorrigeerd voor leeftijd en geslacht: Gamma-GLM, "
        "log-link, KBZ + leeftijdsgroep ({groups}) + geslacht (met het placebojaar: + "
        "vervolgperiode + KBZ × vervolgperiode), gestandaardiseerd verschil in EUR met de "
        "deltamethode; CR2-clustersandwich per praktijk met Bell–McCaffrey-t",
    "{row:text} gives the {level}% {how:term} intervals from a person-level bootstrap "
    "stratified by group ({b} replicates, seed {seed:year}, all years of a person kept "
    "together) — persons only — ignores variation between practices":
        "{row} geeft de {level}%-intervallen ({how}) uit een bootstrap op persoonsniveau, "
        "gestratificeerd naar groep ({b} replicaties, seed {seed}, alle jaren van een "
        "persoon samen) — alleen personen — negeert variatie tussen praktijken",
    "Per-practice changes (table by_practice) carry the person-level interval of that "
    "practice's own persons: a description of the practice, not a test":
        "Veranderingen per praktijk (tabel by_practice) dragen het interval op "
        "persoonsniveau van de eigen personen van die praktijk: een beschrijving van de "
        "praktijk, geen toets",
    "Holm-adjusted p-values (p_adjusted) over the secondary rows":
        "Holm-gecorrigeerde p-waarden (p_adjusted) over de secundaire rijen",
    # ------------------------------------------------------------ risk adjustment
    "Indirect standardisation of {outcome:text} on five-year age band × sex":
        "Indirecte standaardisatie van {outcome} op vijfjaarsleeftijdsklasse × geslacht",
    "Expected = insured years × the reference rate per insured year of the person's "
    "stratum; reference: {ref:term}":
        "Verwacht = verzekerdejaren × het referentietarief per verzekerdejaar van het "
        "stratum van de persoon; referentie: {ref}",
    "O/E per group and year, {pop:term}; reference rates are held fixed in all inference":
        "O/E per groep en jaar, {pop}; referentietarieven worden in alle inferentie "
        "vastgehouden",
    "The comparison of KBZ with the control practices is the ratio of their O/E ratios "
    "(KBZ / control) per year":
        "De vergelijking van KBZ met de controlepraktijken is de verhouding van hun "
        "O/E-verhoudingen (KBZ / controle) per jaar",
    "The `{row:text}` row gives the {level}% intervals (log scale) from the person-level "
    "variance of a ratio estimator (persons only — ignores variation between practices; "
    "log-scale variances of the two groups added)":
        "De rij `{row}` geeft de {level}%-intervallen (logschaal) uit de variantie op "
        "persoonsniveau van een ratioschatter (alleen personen — negeert variatie tussen "
        "praktijken; varianties op logschaal van beide groepen opgeteld)",
    # ------------------------------------------------------------ funnel
    "Funnel plot of observed / expected against size, compared with the target {t} (as "
    "expected from the age band × sex rates of {ref:term})":
        "Trechterplot van werkelijk / verwacht tegen omvang, vergeleken met het doel {t} "
        "(zoals verwacht uit de tarieven naar leeftijdsklasse × geslacht van {ref})",
    "Expected values by indirect standardisation on five-year age band × sex (reference "
    "rates held fixed)":
        "Verwachte waarden door indirecte standaardisatie op vijfjaarsleeftijdsklasse × "
        "geslacht (referentietarieven vastgehouden)",
    "Control limits at {a}% and {b}%: exact Poisson limits (Gamma quantiles: lower "
    "G⁻¹(p; θ0·size)/size, upper G⁻¹(1−p; θ0·size + 1)/size)":
        "Controlegrenzen op {a}% en {b}%: exacte Poisson-grenzen (Gamma-kwantielen: onder "
        "G⁻¹(p; θ0·size)/size, boven G⁻¹(1−p; θ0·size + 1)/size)",
    "z-scores on the square-root scale (arcsine square root for proportions), z-scores "
    "winsorised at {w}% each end for the overdispersion estimate":
        "z-scores op de wortelschaal (arcsinus van de wortel voor proporties), z-scores "
        "aan beide kanten op {w}% gewinsoriseerd voor de schatting van de overdispersie",
    "When the DerSimonian–Laird between-unit variance τ² (from the trimmed z-scores) is "
    "positive the limits become target ± z·√(s² + τ²) on the transformed scale (random "
    "effects)":
        "Als de DerSimonian–Laird-variantie tussen eenheden τ² (uit de getrimde z-scores) "
        "positief is, worden de grenzen doel ± z·√(s² + τ²) op de getransformeerde schaal "
        "(random effects)",
    "A unit outside the limits in use is flagged; the dispersion ratio is Σz²/(n−1) over "
    "all units with its χ² p-value":
        "Een eenheid buiten de gebruikte grenzen wordt gemarkeerd; de dispersieverhouding "
        "is Σz²/(n−1) over alle eenheden, met de χ²-p-waarde",
    "Each unit's own interval (tidy) is exact (Garwood or Clopper–Pearson) and describes "
    "that unit only":
        "Het eigen interval van elke eenheid (tidy) is exact (Garwood of Clopper–Pearson) "
        "en beschrijft alleen die eenheid",
    # ------------------------------------------------------------ ranking
    "Per practice, observed/expected {outcome:text} over {period:term}, {pop:term}; E by "
    "indirect standardisation on age band × sex with the rates of all analysed "
    "person-years":
        "Per praktijk werkelijk/verwacht {outcome} over {period}, {pop}; E door indirecte "
        "standaardisatie op leeftijdsklasse × geslacht met de tarieven van alle "
        "geanalyseerde persoonsjaren",
    "Own estimate: log O/E with the delta-method standard error of a ratio of person-level "
    "sums (a person's years at the practice summed; E held fixed), {level}% interval "
    "exp(log O/E ± z·se)":
        "Eigen schatting: log O/E met de standaardfout volgens de deltamethode van een "
        "verhouding van sommen op persoonsniveau (de jaren van een persoon bij de praktijk "
        "opgeteld; E vastgehouden), {level}%-interval exp(log O/E ± z·se)",
    "Across practices a normal random-effects model on log O/E, log O/E_i ~ N(θ_i, se_i²), "
    "θ_i ~ N(μ, τ²), with τ² by REML (both REML and DerSimonian–Laird are in the "
    "heterogeneity table)":
        "Over de praktijken een normaal random-effectsmodel op log O/E, log O/E_i ~ "
        "N(θ_i, se_i²), θ_i ~ N(μ, τ²), met τ² via REML (zowel REML als "
        "DerSimonian–Laird staan in de heterogeniteitstabel)",
    "Shrunken estimates are the empirical-Bayes posterior means (BLUPs) B_i μ̂ + (1 − B_i) "
    "log O/E_i with B_i = se_i²/(se_i² + τ²); their {level}% intervals use the posterior "
    "variance with τ² fixed at its estimate (including the uncertainty of μ̂, not that of "
    "τ²)":
        "Gekrompen schattingen zijn de empirisch-Bayesiaanse posterior-gemiddelden (BLUP's) "
        "B_i μ̂ + (1 − B_i) log O/E_i met B_i = se_i²/(se_i² + τ²); hun {level}%-intervallen "
        "gebruiken de posterior-variantie met τ² vastgezet op de schatting (inclusief de "
        "onzekerheid van μ̂, niet die van τ²)",
    "Ranks: rank 1 is the lowest O/E; the point rank orders the shrunken estimates; the "
    "{level}% rank interval is the equal-tailed interval of ranks over {n} draws from the "
    "joint approximate posterior (seed {seed:year})":
        "Rangen: rang 1 is de laagste O/E; de puntrang ordent de gekrompen schattingen; "
        "het {level}%-ranginterval is het interval met gelijke staarten van de rangen over "
        "{n} trekkingen uit de gezamenlijke benaderde posterior (seed {seed})",
    "All practices, KBZ and control, share one mean: the ranking compares each practice "
    "with all practices, not KBZ with control":
        "Alle praktijken, KBZ en controle, delen één gemiddelde: de rangorde vergelijkt "
        "elke praktijk met alle praktijken, niet KBZ met controle",
    # ------------------------------------------------------------ indicators, referrals
    "Descriptive spread of the practices' scores per year: minimum, quartiles (linear "
    "interpolation), maximum, range and interquartile range; n = practices":
        "Beschrijvende spreiding van de scores van de praktijken per jaar: minimum, "
        "kwartielen (lineaire interpolatie), maximum, bereik en interkwartielafstand; "
        "n = praktijken",
    "No sampling interval: the practices are the population of interest":
        "Geen steekproefinterval: de praktijken zijn zelf de populatie waar het om gaat",
    "Share of consultations after which a hospital referral was avoided, overall and per "
    "specialism: a binomial proportion with a Wilson score interval; consultations are "
    "assumed independent":
        "Aandeel consulten waarna een verwijzing naar het ziekenhuis werd voorkomen, in "
        "totaal en per specialisme: een binomiale proportie met een Wilson-scoreinterval; "
        "consulten worden onafhankelijk verondersteld",
    # ------------------------------------------------------------ open data: Vektis
    "Cost per insured year = euro paid under the Zvw / insured years (Vektis open data), "
    "per municipality and the country (sum of municipalities, rest row excluded)":
        "Kosten per verzekerdejaar = euro's betaald onder de Zvw / verzekerdejaren (open "
        "data van Vektis), per gemeente en voor het land (som van de gemeenten, restrij "
        "uitgesloten)",
    "Direct standardisation: stratum rates (sex x {k} age classes) weighted by the "
    "national insured-years structure of {y:year}; strata absent in an area are left out "
    "and the weights rescaled (missing_weight)":
        "Directe standaardisatie: tarieven per stratum (geslacht x {k} leeftijdsklassen) "
        "gewogen naar de landelijke opbouw van verzekerdejaren in {y}; strata die in een "
        "gebied ontbreken vallen weg en de gewichten worden herschaald (missing_weight)",
    "Indirect: observed / expected cost at the national stratum rates of the same year, "
    "times the national crude rate":
        "Indirect: werkelijke / verwachte kosten tegen de landelijke stratumtarieven van "
        "hetzelfde jaar, maal het landelijke ongestandaardiseerde tarief",
    "Population totals: no sampling error, no intervals":
        "Populatietotalen: geen steekproeffout, geen intervallen",
    "Population totals: no sampling interval":
        "Populatietotalen: geen steekproefinterval",
    "Group definitions change at the years in table 'breaks'; GGZ from {y:year} follows "
    "the payment reform (ggz_break)":
        "Groepsindelingen veranderen in de jaren van tabel 'breaks'; GGZ volgt vanaf {y} "
        "de bekostigingshervorming (ggz_break)",
    "Bron: Vektis open data (Open Databestand Zorgverzekeringswet); no resale":
        "Bron: Vektis open data (Open Databestand Zorgverzekeringswet); geen doorverkoop",
    "Difference between each area's direct total cost per insured year and (a) the "
    "country, (b) the unweighted mean of the {n} largest non-KBZ municipalities; per year "
    "and as difference in change between the pre- and post-rollout means":
        "Verschil tussen de direct gestandaardiseerde totale kosten per verzekerdejaar "
        "van elk gebied en (a) het land, (b) het ongewogen gemiddelde van de {n} grootste "
        "niet-KBZ-gemeenten; per jaar en als verschil in verandering tussen de "
        "gemiddelden vóór en na de invoering",
    "Rollout years: {years:text}": "Invoeringsjaren: {years}",
    # ------------------------------------------------------------ open data: synthetic control
    "Synthetic control for {unit:text} on total cost per insured year (direct): donor "
    "weights on the simplex (non-negative, summing to 1) fitted to the {k} pre-period years "
    "before {s:year}; effect = treated minus synthetic in each later year":
        "Synthetische controle voor {unit} op totale kosten per verzekerdejaar (direct): "
        "donorgewichten op de simplex (niet-negatief, opgeteld 1) gefit op de {k} jaren "
        "voorperiode vóór {s}; effect = behandeld min synthetisch in elk later jaar",
    "Donor pool: {n} units (the largest non-KBZ municipalities by insured years)":
        "Donorpool: {n} eenheden (de grootste niet-KBZ-gemeenten naar verzekerdejaren)",
    "Inference: placebo-in-space p-value not reported (not reported: the pre-period fit of "
    "{unit:text} is exact, so its donor weights are not unique and any placebo statistic "
    "would depend on which exact weighting the solver returns); no standard errors":
        "Inferentie: placebo-in-ruimte-p-waarde niet gegeven (niet gegeven: de fit van "
        "{unit} in de voorperiode is exact, dus de donorgewichten zijn niet uniek en elke "
        "placebotoetsgrootheid zou afhangen van welke exacte weging de oplosser teruggeeft); "
        "geen standaardfouten",
    "Inference: placebo-in-space on the post/pre RMSPE ratio: p = share of units (placebos "
    "and the treated) whose statistic is at least the treated one's; smallest attainable "
    "p = 1/{n}; no standard errors":
        "Inferentie: placebo-in-ruimte op de post/pre-RMSPE-verhouding: p = aandeel "
        "eenheden (placebo's en de behandelde) waarvan de toetsgrootheid minstens die van "
        "de behandelde is; kleinst haalbare p = 1/{n}; geen standaardfouten",
    "A pre-period fit counts as exact when its RMSPE is at most 1e-06 x the unit's level; "
    "the post/pre RMSPE ratio is then refused":
        "Een fit in de voorperiode geldt als exact als de RMSPE hoogstens 1e-06 x het "
        "niveau van de eenheid is; de post/pre-RMSPE-verhouding wordt dan geweigerd",
    "In-time placebo: treatment pretended to start in {p:year}, {k} {years:term} before "
    "{s:year}; fitted on {fit:text}; gap averaged over {gap:text}, before the real start: "
    "a real effect should not appear here{rest:term}":
        "Placebo in de tijd: de behandeling zogenaamd begonnen in {p}, {k} {years} vóór "
        "{s}; gefit op {fit}; verschil gemiddeld over {gap}, vóór de echte start: een echt "
        "effect hoort hier niet te verschijnen{rest}",
    # ------------------------------------------------------------ CVG
    "Mean CVG per measurement over the patients measured then (t intervals; n shows the "
    "dropout)":
        "Gemiddelde CVG per meting over de patiënten die toen gemeten zijn "
        "(t-intervallen; n toont de uitval)",
    "Change from measurement 1: fixed effect of measurement k in a linear mixed model "
    "cvg ~ C(measurement) + (1 | patient), REML (profiled likelihood; statsmodels MixedLM "
    "as fallback), Wald z intervals "
    "from the model-based covariance; it uses every patient and is unbiased if dropout "
    "depends only on marks observed earlier (missing at random)":
        "Verandering sinds meting 1: vast effect van meting k in een lineair gemengd model "
        "cvg ~ C(measurement) + (1 | patient), REML (geprofileerde likelihood; "
        "statsmodels MixedLM als terugval), Wald-z-"
        "intervallen uit de modelgebaseerde covariantie; het gebruikt elke patiënt en is "
        "zuiver als uitval alleen afhangt van eerder waargenomen cijfers (missing at "
        "random)",
    "Sensitivity check: mean paired change among completers (patients with every "
    "measurement), t interval":
        "Gevoeligheidscontrole: gemiddelde gepaarde verandering bij wie alles invulde "
        "(patiënten met elke meting), t-interval",
    "Responsiveness: standardised response mean and effect size per step, delta-method "
    "intervals":
        "Responsiviteit: gestandaardiseerde gemiddelde respons en effectgrootte per stap, "
        "intervallen volgens de deltamethode",
    "The change is not an effect of KBZ: no comparison group: an uncontrolled "
    "before/after change of the patients selected for KBZ; regression to the mean is not "
    "excluded":
        "De verandering is geen effect van KBZ: geen vergelijkingsgroep: een "
        "ongecontroleerde voor-/navergelijking van de voor KBZ geselecteerde patiënten; "
        "regressie naar het gemiddelde is niet uitgesloten",
    "Difference = GP mark minus patient mark":
        "Verschil = cijfer huisarts min cijfer patiënt",
    "Bland–Altman bias and {level}% limits of agreement for repeated pairs per patient "
    "(Bland & Altman 2007: between- and within-patient variance of the differences from a "
    "one-way ANOVA); bias interval t with {df} df; approximate intervals for the limits":
        "Bland–Altman: systematisch verschil en {level}%-grenzen van overeenstemming voor "
        "herhaalde paren per patiënt (Bland & Altman 2007: variantie van de verschillen "
        "tussen en binnen patiënten uit een eenweg-ANOVA); interval van het systematisch "
        "verschil t met {df} vrijheidsgraden; benaderde intervallen voor de grenzen",
    "ICC(2,1): two-way random effects, absolute agreement, single rater (Shrout & Fleiss "
    "1979), McGraw–Wong interval":
        "ICC(2,1): random effects in twee richtingen, absolute overeenstemming, één "
        "beoordelaar (Shrout & Fleiss 1979), McGraw–Wong-interval",
    "Cohen's weighted kappa with quadratic weights, Fleiss–Cohen–Everitt large-sample SE":
        "Gewogen kappa van Cohen met kwadratische gewichten, SE voor grote steekproeven "
        "volgens Fleiss–Cohen–Everitt",
    "ICC, kappa and the shares treat each patient × measurement pair as independent; pairs "
    "of one patient are correlated, so those intervals may be a little narrow":
        "ICC, kappa en de aandelen behandelen elk paar patiënt × meting als onafhankelijk; "
        "paren van één patiënt hangen samen, dus die intervallen kunnen iets te smal zijn",
    # ------------------------------------------------------------ 4D conversation
    "Share of ratings {r:text} per item and respondent type, a binomial proportion over "
    "the respondents who rated the item, with a Wilson interval; patient − professional "
    "differences per item with Newcombe's hybrid score interval (independent groups)":
        "Aandeel beoordelingen {r} per item en type respondent, een binomiale proportie "
        "over de respondenten die het item beoordeelden, met een Wilson-interval; "
        "verschillen patiënt − professional per item met het hybride scoreinterval van "
        "Newcombe (onafhankelijke groepen)",
    "Items are rated by the same respondents, so no pooled interval over items is given":
        "De items worden door dezelfde respondenten beoordeeld, dus er wordt geen "
        "samengevoegd interval over items gegeven",
    # ------------------------------------------------------------ health monitor
    "Each percentage as a proportion of a simple random sample of n respondents, Wilson "
    "interval; every area × year an independent sample":
        "Elk percentage als proportie van een enkelvoudige aselecte steekproef van n "
        "respondenten, Wilson-interval; elk gebied × jaar een onafhankelijke steekproef",
    "Change per area: end minus start, Newcombe hybrid score interval":
        "Verandering per gebied: eind min begin, hybride scoreinterval van Newcombe",
    "Difference in changes (area change minus reference change, percentage points): MOVER "
    "interval combining the four Wilson intervals (Zou & Donner 2008), Wald SE sqrt(sum "
    "p(1-p)/n) and Wald p-value":
        "Verschil in veranderingen (verandering in het gebied min verandering in de "
        "referentie, procentpunten): MOVER-interval dat de vier Wilson-intervallen "
        "combineert (Zou & Donner 2008), Wald-SE sqrt(sum p(1-p)/n) en Wald-p-waarde",
    "No survey weights or design effect":
        "Geen enquêtegewichten of designeffect",
    "The n behind the percentages is an assumption (n_is_assumed), not a published count: "
    "the intervals rest on it":
        "De n achter de percentages is een aanname (n_is_assumed), geen gepubliceerd "
        "aantal: de intervallen rusten erop",
    # ------------------------------------------------------------ RIVM small areas
    "Difference in changes of RIVM small-area estimates ({age:text}) between {area:text} "
    "and {city:text} ({code:text}), other districts of {city2:text}, {nl:text} ({nlc:text}) "
    "for every pair of the years {years:text}":
        "Verschil in veranderingen van RIVM-schattingen voor kleine gebieden ({age}) tussen "
        "{area} en {city} ({code}), andere wijken van {city2}, {nl} ({nlc}) voor elk paar "
        "van de jaren {years}",
    "Difference in changes of RIVM small-area estimates ({age:text}) between {area:text} "
    "and {city:text}, other districts of {city2:text}, {nl:term} for every pair of the "
    "years {years:text}":
        "Verschil in veranderingen van RIVM-schattingen voor kleine gebieden ({age}) tussen "
        "{area} en {city}, andere wijken van {city2}, {nl} voor elk paar van de jaren "
        "{years}",
    "The open files hold point estimates only (no n, no margins): plain differences, no "
    "intervals or p-values":
        "De open bestanden bevatten alleen puntschattingen (geen n, geen marges): gewone "
        "verschillen, geen intervallen of p-waarden",
    "'Other districts' = unweighted mean of the other districts; rank_among_districts "
    "ranks the area's change among all districts of the city (1 = largest increase)":
        "'Andere wijken' = ongewogen gemiddelde van de andere wijken; rank_among_districts "
        "rangschikt de verandering van het gebied onder alle wijken van de stad (1 = "
        "grootste stijging)",
    "Bron: RIVM/CBS/GGD'en, Gezondheidsmonitor Volwassenen en Ouderen, StatLine "
    "{table:text} (small-area estimates)":
        "Bron: RIVM/CBS/GGD'en, Gezondheidsmonitor Volwassenen en Ouderen, StatLine "
        "{table} (schattingen voor kleine gebieden)",
    # ------------------------------------------------------------ workforce
    "Means per wave (and location, role, group) over the respondents who answered, "
    "Student-t intervals (descriptive)":
        "Gemiddelden per meting (en locatie, functie, groep) over de respondenten die "
        "antwoordden, Student-t-intervallen (beschrijvend)",
    "Change from the first wave: fixed effect of the wave in a linear mixed model measure "
    "~ C(wave) * group + (1 | respondent), REML (profiled likelihood; statsmodels MixedLM "
    "as fallback); random intercept per "
    "respondent (repeated respondents)":
        "Verandering sinds de eerste meting: vast effect van de meting in een lineair "
        "gemengd model measure ~ C(wave) * group + (1 | respondent), REML (geprofileerde "
        "likelihood; statsmodels MixedLM als terugval); random intercept per respondent "
        "(herhaalde respondenten)",
    "The effect estimate is the difference in change, KBZ practices minus control "
    "practices (the comparison group); the change per group is a within-group change, "
    "not an effect":
        "De effectschatting is het verschil in verandering, KBZ-praktijken min "
        "controlepraktijken (de vergelijkingsgroep); de verandering per groep is een "
        "verandering binnen de groep, geen effect",
    "All are linear contrasts of the fixed effects":
        "Alle zijn lineaire contrasten van de vaste effecten",
    "Inference at the practice level, the unit KBZ is assigned to: wild cluster "
    "bootstrap-t over practices ({k} KBZ and {c} control practices; Webb weights)":
        "Inferentie op praktijkniveau, de eenheid waaraan KBZ wordt toegewezen: wild "
        "cluster bootstrap-t over praktijken ({k} KBZ- en {c} controlepraktijken; "
        "Webb-gewichten)",
    "The variance of the fixed effects is the CR2 cluster-robust sandwich with practices "
    "as clusters (Bell & McCaffrey 2002), computed on the model whitened by its own fitted "
    "covariance, so it is unbiased when the random-intercept model holds and stays valid "
    "when practices differ in ways the model ignores (practice-specific changes, which "
    "move the KBZ − control contrast); the standard error is never taken below the "
    "model-based one, the variance if practices added nothing (table 'practice_variance' "
    "shows both)":
        "De variantie van de vaste effecten is de CR2-clusterrobuuste sandwich met "
        "praktijken als clusters (Bell & McCaffrey 2002), berekend op het model dat met de "
        "eigen gefitte covariantie is gewit, dus zuiver als het random-interceptmodel "
        "klopt en nog steeds geldig als praktijken verschillen op manieren die het model "
        "negeert (praktijkeigen veranderingen, die het contrast KBZ − controle "
        "verschuiven); de standaardfout wordt nooit kleiner genomen dan de "
        "modelgebaseerde, de variantie als praktijken niets zouden toevoegen (tabel "
        "'practice_variance' toont beide)",
    "A random intercept per practice would not do: it absorbs practice levels, not "
    "practice-specific changes, and a random slope per practice is not estimable with a "
    "handful of practices":
        "Een random intercept per praktijk volstaat niet: die vangt niveaus van praktijken "
        "op, geen praktijkeigen veranderingen, en een random slope per praktijk is met een "
        "handvol praktijken niet te schatten",
    "Intervals and p-values: wild cluster bootstrap-t ({b} replicates, one Webb six-point "
    "weight per practice on the whitened residuals, studentised by the CR2 variance in "
    "every replicate); symmetric interval estimate ± q·SE with q the bootstrap quantile of "
    "|t*|, p = (1 + #{|t*| ≥ |t|}) / (1 + B)":
        "Intervallen en p-waarden: wild cluster bootstrap-t ({b} replicaties, één "
        "Webb-zespuntsgewicht per praktijk op de gewitte residuen, in elke replicatie "
        "gestudentiseerd met de CR2-variantie); symmetrisch interval schatting ± q·SE met "
        "q het bootstrapkwantiel van |t*|, p = (1 + #{|t*| ≥ |t|}) / (1 + B)",
    "Rows ending in '_persons_only': the model-based Wald z interval — persons only — "
    "ignores variation between practices":
        "Rijen die eindigen op '_persons_only': het modelgebaseerde Wald-z-interval — "
        "alleen personen — negeert variatie tussen praktijken",
    # ------------------------------------------------------------ intervals inside headlines
    "{level}% CI {lo} to {hi}": "{level}%-BI {lo} tot {hi}",
    "{level}% CI {lo} to {hi} pp": "{level}%-BI {lo} tot {hi} pp",
    "{level}% CI {lo} to {hi}, p {p:nums}": "{level}%-BI {lo} tot {hi}, p {p}",
    "{level}% CI {lo} to {hi}, practice-level, p {p:nums}":
        "{level}%-BI {lo} tot {hi}, op praktijkniveau, p {p}",
    "{level}% CI {lo} to {hi} pp, practice-level, p {p:nums}":
        "{level}%-BI {lo} tot {hi} pp, op praktijkniveau, p {p}",
    "{level}% CI {lo} to {hi}, practice-level wild cluster bootstrap, {k} KBZ vs {c} control "
    "practices; p {p:nums}":
        "{level}%-BI {lo} tot {hi}, wild cluster bootstrap op praktijkniveau, {k} KBZ- "
        "tegenover {c} controlepraktijken; p {p}",
    "{level}% CI {lo} to {hi}, practice-level wild cluster bootstrap, {k} vs {c} practices; "
    "p {p:nums}":
        "{level}%-BI {lo} tot {hi}, wild cluster bootstrap op praktijkniveau, {k} "
        "tegenover {c} praktijken; p {p}",
    "{level}% CI {lo} to {hi}, p {p:nums}; wild cluster bootstrap over {g} clusters of "
    "{cl:text}":
        "{level}%-BI {lo} tot {hi}, p {p}; wild cluster bootstrap over {g} clusters van "
        "{cl}",
    # ------------------------------------------------------------ headlines
    "mean CVG {series:nums}": "gemiddelde CVG {series}",
    "change at measurement {k:year} vs {j:year} (mixed model, all patients) {d} "
    "({ci:frag})":
        "verandering bij meting {k} tegenover {j} (gemengd model, alle patiënten) {d} "
        "({ci})",
    "completers only {d} (n={n})": "alleen wie elke meting invulde {d} (n={n})",
    "no comparison group: an uncontrolled before/after change of the patients selected "
    "for KBZ":
        "geen vergelijkingsgroep: een ongecontroleerde voor-/navergelijking van de voor KBZ "
        "geselecteerde patiënten",
    "regression to the mean is not excluded":
        "regressie naar het gemiddelde is niet uitgesloten",
    "GP minus patient: bias {b} marks ({ci:frag}), limits of agreement {lo} to {hi}":
        "huisarts min patiënt: systematisch verschil {b} punten ({ci}), grenzen van "
        "overeenstemming {lo} tot {hi}",
    "ICC(2,1) {icc} ({lo}–{hi})": "ICC(2,1) {icc} ({lo}–{hi})",
    "quadratic weighted kappa {k}": "kwadratisch gewogen kappa {k}",
    "{same}% identical, {near}% within one mark ({n} pairs)":
        "{same}% gelijk, {near}% binnen één punt ({n} paren)",
    "patients {lo}–{hi}% positive over {k} items (n = {n} per item)":
        "patiënten {lo}–{hi}% positief over {k} items (n = {n} per item)",
    "professionals {lo}–{hi}% positive over {k} items (n = {n} per item) (rating {r:text} "
    "of {m})":
        "professionals {lo}–{hi}% positief over {k} items (n = {n} per item) "
        "(beoordeling {r} van {m})",
    "{ind:term}: {area:text} {a} → {b}% vs {ref:text} {c} → {d}% ({y1:year}–{y2:year}), "
    "difference in change {x} pp ({ci:frag})":
        "{ind}: {area} {a} → {b}% tegenover {ref} {c} → {d}% ({y1}–{y2}), verschil in "
        "verandering {x} pp ({ci})",
    "{ind:term}: {area:text} {a} → {b}% vs {ref:text} {c} → {d}% ({y1:year}–{y2:year}), "
    "difference in change {x} pp ({ci:frag}) — intervals rest on assumed n":
        "{ind}: {area} {a} → {b}% tegenover {ref} {c} → {d}% ({y1}–{y2}), verschil in "
        "verandering {x} pp ({ci}) — intervallen rusten op een aangenomen n",
    "{y:year} saving vs control practices' trend ({pop:term}): EUR {s} per insured year "
    "({ci:frag}); × {iy} KBZ insured years ({n} persons) = EUR {tot}; net of EUR {f} extra "
    "financing{flag:term}: EUR {net} ({ci2:frag})":
        "besparing {y} tegenover de trend van de controlepraktijken ({pop}): EUR {s} per "
        "verzekerdejaar ({ci}); × {iy} KBZ-verzekerdejaren ({n} personen) = EUR {tot}; "
        "netto na EUR {f} extra financiering{flag}: EUR {net} ({ci2})",
    "outpatient DBCs ({pop:term}), index {y:year} (base {b:year} = 100): KBZ {k}, control "
    "{c}; DiD rate ratio {r} vs control practices ({ci:frag})":
        "poliklinische DBC's ({pop}), index {y} (basis {b} = 100): KBZ {k}, controle {c}; "
        "DiD-rateratio {r} tegenover controlepraktijken ({ci})",
    "ATT of {t:text} on {o:text} = {e} ({ci:frag}); CR1 cluster-robust, t({df}): "
    "{ci2:frag}":
        "ATT van {t} op {o} = {e} ({ci}); CR1 clusterrobuust, t({df}): {ci2}",
    "ATT of treatment on {o:text} = {e} ({level}% CI {lo} to {hi}, p {p:nums}; all "
    "post-treatment cohort × period effects, weighted by cohort size; compared with "
    "never-treated units, {est:text} estimation, {n} units)":
        "ATT van de behandeling op {o} = {e} ({level}%-BI {lo} tot {hi}, p {p}; alle "
        "effecten per cohort × periode na de behandeling, gewogen naar cohortgrootte; "
        "vergeleken met nooit behandelde eenheden, schatting {est}, {n} eenheden)",
    "TWFE estimate {e} = weighted average of {k} 2x2 comparisons":
        "TWFE-schatting {e} = gewogen gemiddelde van {k} 2x2-vergelijkingen",
    "{s}% of the weight on comparisons with already-treated controls":
        "{s}% van het gewicht op vergelijkingen met al behandelde controles",
    "GGZ cost per insured {b:year}→{f:year}: KBZ practices {k}%, control practices {c}%; "
    "difference {d} pp ({ci:frag}); best of {n} KBZ practices {bp}% (descriptive, "
    "selected); new GGZ patients EUR {np} (unadjusted), KBZ/control cost ratio relative to "
    "{y:year} {r} ({ci2:frag})":
        "GGZ-kosten per verzekerde {b}→{f}: KBZ-praktijken {k}%, controlepraktijken {c}%; "
        "verschil {d} pp ({ci}); beste van {n} KBZ-praktijken {bp}% (beschrijvend, "
        "uitgekozen); nieuwe GGZ-patiënten EUR {np} (ongecorrigeerd), kostenverhouding "
        "KBZ/controle ten opzichte van {y} {r} ({ci2})",
    "O/E of {o:text} in {y:year} (reference: {ref:term}): KBZ practices {k}, control "
    "practices {c}; KBZ / control {r} ({level}% CI {lo}–{hi}, practice-level, p {p:nums})":
        "O/E van {o} in {y} (referentie: {ref}): KBZ-praktijken {k}, controlepraktijken "
        "{c}; KBZ / controle {r} ({level}%-BI {lo}–{hi}, op praktijkniveau, p {p})",
    "observed / expected {o:text} (age band × sex) in {y:year} of {n} practices ({k} KBZ, "
    "{c} control) against the target {t} (as expected from the age band × sex rates of "
    "{ref:term}): {a} above ({al:term}) and {b} below ({bl:term}) the {lim}% limits; "
    "limits widened for overdispersion (additive, τ² = {tau} on the sqrt scale); "
    "dispersion ratio {d} (p {p:nums})":
        "werkelijk / verwacht {o} (leeftijdsklasse × geslacht) in {y} van {n} praktijken "
        "({k} KBZ, {c} controle) tegenover het doel {t} (zoals verwacht uit de tarieven "
        "naar leeftijdsklasse × geslacht van {ref}): {a} boven ({al}) en {b} onder ({bl}) "
        "de {lim}%-grenzen; grenzen verbreed voor overdispersie (additief, τ² = {tau} op "
        "de wortelschaal); dispersieverhouding {d} (p {p})",
    "{n} practices ({k} KBZ, {c} control) ranked on observed/expected {o:text} "
    "({per:term}; adjusted for age band × sex (indirect standardisation)), each against "
    "the mean of all {m}: lowest {lo:text} ({lg:term}) shrunken O/E {lv}, rank {r1:nums}; "
    "highest {hi:text} ({hg:term}) {hv}, rank {r2:nums}":
        "{n} praktijken ({k} KBZ, {c} controle) gerangschikt op werkelijk/verwacht {o} "
        "({per}; gecorrigeerd voor leeftijdsklasse × geslacht (indirecte "
        "standaardisatie)), elk tegenover het gemiddelde van alle {m}: laagste {lo} ({lg}) "
        "gekrompen O/E {lv}, rang {r1}; hoogste {hi} ({hg}) {hv}, rang {r2}",
    "Between-practice SD of log O/E τ = {t} (REML), I² = {i}%; {a} of {b} rank intervals "
    "span more than half the ranks":
        "SD tussen praktijken van log O/E τ = {t} (REML), I² = {i}%; {a} van {b} "
        "rangintervallen beslaan meer dan de helft van de rangen",
    "{a} of {n} consultations avoided a referral: {s}% ({level}% CI {lo}–{hi}%)":
        "{a} van {n} consulten voorkwamen een verwijzing: {s}% ({level}%-BI {lo}–{hi}%)",
    "KBZ − control practices, difference in change wave {w:year} vs {w0:year} (KBZ "
    "practices against control practices): {m1:term} {e1} ({ci1:frag}); {m2:term} {e2} "
    "({ci2:frag}) (practice-level inference, wild cluster bootstrap-t over practices ({k} "
    "KBZ and {c} control practices; Webb weights); random intercept per respondent)":
        "KBZ − controlepraktijken, verschil in verandering meting {w} tegenover {w0} "
        "(KBZ-praktijken tegenover controlepraktijken): {m1} {e1} ({ci1}); {m2} {e2} "
        "({ci2}) (inferentie op praktijkniveau, wild cluster bootstrap-t over praktijken "
        "({k} KBZ- en {c} controlepraktijken; Webb-gewichten); random intercept per "
        "respondent)",
    "national total cost per insured year {y:year}: crude EUR {a}, direct EUR {b}, "
    "indirect EUR {c}":
        "landelijke totale kosten per verzekerdejaar {y}: ongestandaardiseerd EUR {a}, "
        "direct EUR {b}, indirect EUR {c}",
    "change after rollout minus change in the country (EUR/insured year): {list:nums}":
        "verandering na de invoering min verandering in het land (EUR/verzekerdejaar): "
        "{list}",
    "{unit:text} vs synthetic control from {s:year}: average gap {g} (not unique: exact "
    "pre-period fits give {lo} to {hi})":
        "{unit} tegenover synthetische controle vanaf {s}: gemiddeld verschil {g} (niet "
        "uniek: exacte fits in de voorperiode geven {lo} tot {hi})",
    "{unit:text} vs synthetic control from {s:year}: average gap {g}":
        "{unit} tegenover synthetische controle vanaf {s}: gemiddeld verschil {g}",
    "no placebo p-value (the weights are not unique)":
        "geen placebo-p-waarde (de gewichten zijn niet uniek)",
    "exact pre-period fit (RMSPE at most 1e-06 x the level) for {unit:text} and {k} of "
    "{n} donors":
        "exacte fit in de voorperiode (RMSPE hoogstens 1e-06 x het niveau) voor {unit} en "
        "{k} van {n} donoren",
    "in-time placebo (pretended start {y:year}): gap {g}":
        "placebo in de tijd (zogenaamde start {y}): verschil {g}",
    "placebo-in-space p = {p} (post/pre RMSPE ratio, {n} placebos":
        "placebo-in-ruimte p = {p} (post/pre-RMSPE-verhouding, {n} placebo's",
    "the smallest attainable p = 1/{n})": "kleinst haalbare p = 1/{n})",
    "smallest attainable p = 1/{n})": "kleinst haalbare p = 1/{n})",
    "{ind:term} {y1:year}-{y2:year}: {area:text} change minus {ref:text} change {d} points "
    "(plain difference, no interval)":
        "{ind} {y1}-{y2}: verandering {area} min verandering {ref} {d} punten (gewoon "
        "verschil, geen interval)",
    # ------------------------------------------------------------ option values the
    # sample report does not use: person-level inference (inference = "person"), the
    # CR2 practice-level method (practice_method = "cr2"), the person-level jackknife
    # (above JACKKNIFE_ABOVE persons), percentile intervals, age/sex adjustment against
    # the control practices, a GGZ base year without a year before it
    "{level}% {how:term} intervals from a person-level bootstrap stratified by group ({b} "
    "replicates, seed {seed:year}, all years of a person kept together) — persons only — "
    "ignores variation between practices":
        "{level}%-intervallen ({how}) uit een bootstrap op persoonsniveau, gestratificeerd "
        "naar groep ({b} replicaties, seed {seed}, alle jaren van een persoon samen) — "
        "alleen personen — negeert variatie tussen praktijken",
    "The row saving_per_person_persons_only gives normal-approximation intervals from the "
    "person-level stratified jackknife variance ({n} persons, all years of a person left "
    "out together; used instead of the bootstrap above {m} persons, where both estimate "
    "the same variance) — persons only — ignores variation between practices":
        "De rij saving_per_person_persons_only geeft intervallen met normale benadering uit "
        "de gestratificeerde jackknifevariantie op persoonsniveau ({n} personen, alle jaren "
        "van een persoon samen weggelaten; boven {m} personen gebruikt in plaats van de "
        "bootstrap, omdat beide dan dezelfde variantie schatten) — alleen personen — "
        "negeert variatie tussen praktijken",
    "{row:text} gives the {level}% normal-approximation intervals from the person-level "
    "stratified jackknife variance ({n} persons, all years of a person left out together; "
    "used instead of the bootstrap above {m} persons, where both estimate the same "
    "variance) — persons only — ignores variation between practices":
        "{row} geeft de {level}%-intervallen met normale benadering uit de "
        "gestratificeerde jackknifevariantie op persoonsniveau ({n} personen, alle jaren "
        "van een persoon samen weggelaten; boven {m} personen gebruikt in plaats van de "
        "bootstrap, omdat beide dan dezelfde variantie schatten) — alleen personen — "
        "negeert variatie tussen praktijken",
    "{level}% normal-approximation intervals from the person-level stratified jackknife "
    "variance ({n} persons, all years of a person left out together; used instead of the "
    "bootstrap above {m} persons, where both estimate the same variance) — persons only — "
    "ignores variation between practices":
        "{level}%-intervallen met normale benadering uit de gestratificeerde "
        "jackknifevariantie op persoonsniveau ({n} personen, alle jaren van een persoon "
        "samen weggelaten; boven {m} personen gebruikt in plaats van de bootstrap, omdat "
        "beide dan dezelfde variantie schatten) — alleen personen — negeert variatie "
        "tussen praktijken",
    "Only {k} KBZ and {c} control practices and inference='person': the intervals are "
    "persons only — ignores variation between practices; inference='practice' gives "
    "intervals at the unit KBZ is assigned to":
        "Slechts {k} KBZ- en {c} controlepraktijken en inference='person': de intervallen "
        "zijn op persoonsniveau (alleen personen — negeert variatie tussen praktijken); "
        "inference='practice' geeft intervallen op het niveau waaraan KBZ wordt toegewezen",
    "inference='person': the intervals are persons only — ignores variation between "
    "practices; inference='practice' gives intervals at the unit KBZ is assigned to":
        "inference='person': de intervallen zijn op persoonsniveau (alleen personen — "
        "negeert variatie tussen praktijken); inference='practice' geeft intervallen op het "
        "niveau waaraan KBZ wordt toegewezen",
    "Only {k} KBZ and {c} control practices: the intervals and p-values are practice-level "
    "(CR2 variance with a Satterthwaite t reference, a method that holds with few "
    "practices) and wide; the row `{row:text}` shows the person-level interval (persons "
    "only — ignores variation between practices)":
        "Slechts {k} KBZ- en {c} controlepraktijken: de intervallen en p-waarden zijn op "
        "praktijkniveau (CR2-variantie getoetst aan een t-verdeling volgens Satterthwaite, "
        "een methode die bij weinig praktijken standhoudt) en breed; de rij `{row}` toont "
        "het interval op persoonsniveau (alleen personen — negeert variatie tussen "
        "praktijken)",
    # DBC index
    "{level}% intervals from the person-clustered sandwich variance (CR1; valid under any "
    "overdispersion and within-person correlation): persons only — ignores variation "
    "between practices":
        "{level}%-intervallen uit de sandwichvariantie geclusterd op personen (CR1; geldig "
        "bij elke overdispersie en bij correlatie binnen personen): alleen personen — "
        "negeert variatie tussen praktijken",
    "The practice-level randomisation test of the DiD over {n} relabellings of the "
    "practices gives p {p:nums}":
        "De randomisatietoets op praktijkniveau van de DiD over {n} herindelingen van de "
        "praktijken geeft p {p}",
    "Only {k} KBZ and {c} control practices: the intervals are person-level (persons "
    "resampled or clustered) and do not contain variation between practices; the "
    "practice-level randomisation check (group labels permuted over practices) gives "
    "p = {p:nums}":
        "Slechts {k} KBZ- en {c} controlepraktijken: de intervallen zijn op persoonsniveau "
        "(personen opnieuw getrokken of geclusterd) en bevatten geen variatie tussen "
        "praktijken; de randomisatiecontrole op praktijkniveau (groepslabels verwisseld "
        "over de praktijken) geeft p = {p}",
    "Only {k} KBZ and {c} control practices: the intervals are person-level (persons "
    "resampled or clustered) and do not contain variation between practices":
        "Slechts {k} KBZ- en {c} controlepraktijken: de intervallen zijn op persoonsniveau "
        "(personen opnieuw getrokken of geclusterd) en bevatten geen variatie tussen "
        "praktijken",
    "Only {k} KBZ and {c} control practices: the intervals and p-values are practice-level "
    "(practice-level CR2 t, Satterthwaite df, a method that holds with few clusters), so "
    "they are wide; with so few practices they still rest on the practices being "
    "comparable apart from KBZ":
        "Slechts {k} KBZ- en {c} controlepraktijken: de intervallen en p-waarden zijn op "
        "praktijkniveau (CR2-t op praktijkniveau, Satterthwaite-vrijheidsgraden, een "
        "methode die bij weinig clusters standhoudt), dus breed; met zo weinig praktijken "
        "rusten ze er nog steeds op dat de praktijken op KBZ na vergelijkbaar zijn",
    "Event-study model: one parameter per group × year plus age band × sex main effects; "
    "index = rate(year)/rate({b:year}) × 100 per group — a within-group change (not an "
    "effect), since the control practices changed too; event-study rate ratio = ratio of "
    "the KBZ and control indices, KBZ vs control practices (a secondary family: "
    "Holm-adjusted p-values in p_adjusted)":
        "Event-studymodel: één parameter per groep × jaar plus hoofdeffecten van "
        "leeftijdsklasse × geslacht; index = rate(jaar)/rate({b}) × 100 per groep — een "
        "verandering binnen de groep (geen effect), want ook de controlepraktijken "
        "veranderden; event-study-rateratio = verhouding van de KBZ- en controle-indices, "
        "KBZ tegenover controlepraktijken (een secundaire familie: Holm-gecorrigeerde "
        "p-waarden in p_adjusted)",
    # GGZ
    "Age/sex-adjusted new-patient rows: Gamma GLM, log link, KBZ + age group ({groups:text}) "
    "+ sex (with the placebo year: + follow period + KBZ × follow period), standardised "
    "EUR difference by the delta method; HC1 robust SEs — persons only — ignores variation "
    "between practices":
        "Rijen voor nieuwe patiënten gecorrigeerd voor leeftijd en geslacht: Gamma-GLM, "
        "log-link, KBZ + leeftijdsgroep ({groups}) + geslacht (met het placebojaar: + "
        "vervolgperiode + KBZ × vervolgperiode), gestandaardiseerd verschil in EUR met de "
        "deltamethode; HC1-robuuste standaardfouten — alleen personen — negeert variatie "
        "tussen praktijken",
    "{k} KBZ and {c} control practices: intervals and p-values are practice-level "
    "(delete-one-practice (CR2) variance, Satterthwaite t; valid with few practices) and "
    "therefore wide; `{row:text}` shows the person-level interval (persons only — ignores "
    "variation between practices)":
        "{k} KBZ- en {c} controlepraktijken: intervallen en p-waarden zijn op "
        "praktijkniveau (variantie zonder telkens één praktijk (CR2), Satterthwaite-t; "
        "geldig bij weinig praktijken) en daarom breed; `{row}` toont het interval op "
        "persoonsniveau (alleen personen — negeert variatie tussen praktijken)",
    "Age/sex-adjusted changes: of O/E ratios (indirect standardisation on age band × sex, "
    "reference: {ref:term}); reference rates fixed in all inference":
        "Veranderingen gecorrigeerd voor leeftijd en geslacht: van O/E-verhoudingen "
        "(indirecte standaardisatie op leeftijdsklasse × geslacht, referentie: {ref}); "
        "referentietarieven in alle inferentie vastgehouden",
    "Because KBZ and control new patients may have differed before KBZ, the primary "
    "new-patient row would divide the KBZ/control cost ratio by the ratio in a placebo "
    "year (difference in differences of the log cost ratio), but the panel has no year "
    "before the base year":
        "Omdat nieuwe patiënten van KBZ- en controlepraktijken al vóór KBZ konden "
        "verschillen, zou de primaire rij voor nieuwe patiënten de kostenverhouding "
        "KBZ/controle delen door de verhouding in een placebojaar (verschil in "
        "verschillen van de log-kostenverhouding), maar het panel heeft geen jaar vóór "
        "het basisjaar",
    "The panel has no year before {y:year}: new GGZ patients cannot be compared in a year "
    "before KBZ, so the baseline-adjusted new-patient rows are NaN (give `placebo_years`)":
        "Het panel heeft geen jaar vóór {y}: nieuwe GGZ-patiënten kunnen niet in een jaar "
        "vóór KBZ worden vergeleken, dus de voor de beginsituatie gecorrigeerde rijen voor "
        "nieuwe patiënten zijn NaN (geef `placebo_years` op)",
    # risk adjustment
    "{level}% intervals (log scale) from the person-level variance of a ratio estimator "
    "(persons only — ignores variation between practices)":
        "{level}%-intervallen (logschaal) uit de variantie op persoonsniveau van een "
        "ratioschatter (alleen personen — negeert variatie tussen praktijken)",
    "{k} KBZ and {c} control practices: the intervals and p-values are practice-level "
    "(delete-one-practice (CR2) variance, Satterthwaite t; valid with few practices) and "
    "therefore wide; the `{row:text}` row shows the person-level interval (persons only — "
    "ignores variation between practices)":
        "{k} KBZ- en {c} controlepraktijken: de intervallen en p-waarden zijn op "
        "praktijkniveau (variantie zonder telkens één praktijk (CR2), Satterthwaite-t; "
        "geldig bij weinig praktijken) en daarom breed; de rij `{row}` toont het interval "
        "op persoonsniveau (alleen personen — negeert variatie tussen praktijken)",
    # workforce
    "Intervals: Wald z from the model's covariance — persons only — ignores variation "
    "between practices (respondents in one practice share its circumstances)":
        "Intervallen: Wald-z uit de covariantie van het model — alleen personen — negeert "
        "variatie tussen praktijken (respondenten in één praktijk delen de omstandigheden "
        "van die praktijk)",
    "Inference at the practice level, the unit KBZ is assigned to: CR2 cluster-robust by "
    "practice ({k} KBZ and {c} control practices), t with Bell–McCaffrey degrees of "
    "freedom":
        "Inferentie op praktijkniveau, de eenheid waaraan KBZ wordt toegewezen: CR2 "
        "clusterrobuust per praktijk ({k} KBZ- en {c} controlepraktijken), t met "
        "Bell–McCaffrey-vrijheidsgraden",
    "Intervals and p-values: t with Bell–McCaffrey (Satterthwaite) degrees of freedom "
    "(Imbens & Kolesár 2016; Pustejovsky & Tipton 2018), which keep the test near its "
    "level with few practices":
        "Intervallen en p-waarden: t met Bell–McCaffrey-vrijheidsgraden (Satterthwaite) "
        "(Imbens & Kolesár 2016; Pustejovsky & Tipton 2018), die de toets ook bij weinig "
        "praktijken dicht bij het nominale niveau houden",
    # headlines
    "{level}% CI {lo} to {hi}, persons only — ignores variation between practices; "
    "p {p:nums}":
        "{level}%-BI {lo} tot {hi}, alleen personen — negeert variatie tussen praktijken; "
        "p {p}",
    "{level}% CI {lo} to {hi}, persons only — ignores variation between practices, "
    "p {p:nums}":
        "{level}%-BI {lo} tot {hi}, alleen personen — negeert variatie tussen praktijken, "
        "p {p}",
    "{level}% CI {lo} to {hi} pp, persons only — ignores variation between practices, "
    "p {p:nums}":
        "{level}%-BI {lo} tot {hi} pp, alleen personen — negeert variatie tussen "
        "praktijken, p {p}",
    "{level}% CI {lo} to {hi}, practice-level CR2 t, Satterthwaite df, {k} vs {c} "
    "practices; p {p:nums}":
        "{level}%-BI {lo} tot {hi}, CR2-t op praktijkniveau, Satterthwaite-"
        "vrijheidsgraden, {k} tegenover {c} praktijken; p {p}",
    "{level}% CI {lo} to {hi}, practice-level CR2 t on {df} df, {k} KBZ vs {c} control "
    "practices; p {p:nums}":
        "{level}%-BI {lo} tot {hi}, CR2-t op praktijkniveau met {df} vrijheidsgraden, {k} "
        "KBZ- tegenover {c} controlepraktijken; p {p}",
    "GGZ cost per insured {b:year}→{f:year}: KBZ practices {k}%, control practices {c}%; "
    "difference {d} pp ({ci:frag}); best of {n} KBZ practices {bp}% (descriptive, "
    "selected); new GGZ patients EUR {np} (unadjusted), no placebo year to adjust for the "
    "baseline difference":
        "GGZ-kosten per verzekerde {b}→{f}: KBZ-praktijken {k}%, controlepraktijken {c}%; "
        "verschil {d} pp ({ci}); beste van {n} KBZ-praktijken {bp}% (beschrijvend, "
        "uitgekozen); nieuwe GGZ-patiënten EUR {np} (ongecorrigeerd), geen placebojaar om "
        "voor het verschil in de beginsituatie te corrigeren",
    "O/E of {o:text} in {y:year} (reference: {ref:term}): KBZ practices {k}, control "
    "practices {c}; KBZ / control {r} ({level}% CI {lo}–{hi}, persons only — ignores "
    "variation between practices, p {p:nums})":
        "O/E van {o} in {y} (referentie: {ref}): KBZ-praktijken {k}, controlepraktijken "
        "{c}; KBZ / controle {r} ({level}%-BI {lo}–{hi}, alleen personen — negeert "
        "variatie tussen praktijken, p {p})",
    "KBZ − control practices, difference in change wave {w:year} vs {w0:year} (KBZ "
    "practices against control practices): {m1:term} {e1} ({ci1:frag}); {m2:term} {e2} "
    "({ci2:frag}) (persons only — ignores variation between practices; random intercept "
    "per {ri:term})":
        "KBZ − controlepraktijken, verschil in verandering meting {w} tegenover {w0} "
        "(KBZ-praktijken tegenover controlepraktijken): {m1} {e1} ({ci1}); {m2} {e2} "
        "({ci2}) (alleen personen — negeert variatie tussen praktijken; random intercept "
        "per {ri})",
    "KBZ − control practices, difference in change wave {w:year} vs {w0:year} (KBZ "
    "practices against control practices): {m1:term} {e1} ({ci1:frag}); {m2:term} {e2} "
    "({ci2:frag}) (practice-level inference, CR2 cluster-robust by practice ({k} KBZ and "
    "{c} control practices), t with Bell–McCaffrey degrees of freedom; random intercept "
    "per {ri:term})":
        "KBZ − controlepraktijken, verschil in verandering meting {w} tegenover {w0} "
        "(KBZ-praktijken tegenover controlepraktijken): {m1} {e1} ({ci1}); {m2} {e2} "
        "({ci2}) (inferentie op praktijkniveau, CR2 clusterrobuust per praktijk ({k} KBZ- "
        "en {c} controlepraktijken), t met Bell–McCaffrey-vrijheidsgraden; random "
        "intercept per {ri})",
    "{ind:text}: {g:term}: {a}–{b}% in {y1:year} → {c}–{d}% in {y2:year} (IQR {e} → {f} "
    "points, {n} practices)":
        "{ind}: {g}: {a}–{b}% in {y1} → {c}–{d}% in {y2} (interkwartielafstand {e} → {f} "
        "punten, {n} praktijken)",
    "{g:term}: {a}–{b}% in {y1:year} → {c}–{d}% in {y2:year} (IQR {e} → {f} points, {n} "
    "practices)":
        "{g}: {a}–{b}% in {y1} → {c}–{d}% in {y2} (interkwartielafstand {e} → {f} punten, "
        "{n} praktijken)",
}
def _practice_inference() -> dict[str, str]:
    """The practice-level inference sentence (:meth:`PracticeInference.describe`) with
    each of its endings."""
    heads = {
        "{level}% intervals and p-values at the practice level (the unit KBZ is assigned "
        "to; {k} KBZ and {c} control practices): wild cluster bootstrap-t ({b} replicates, "
        "one Webb six-point weight per practice, scores from the delete-one-practice "
        "jackknife, studentised in every replicate; symmetric interval)":
            "{level}%-intervallen en p-waarden op praktijkniveau (de eenheid waaraan KBZ "
            "wordt toegewezen; {k} KBZ- en {c} controlepraktijken): wild cluster "
            "bootstrap-t ({b} replicaties, één Webb-zespuntsgewicht per praktijk, scores "
            "uit de jackknife zonder telkens één praktijk, in elke replicatie "
            "gestudentiseerd; symmetrisch interval)",
        "{level}% intervals and p-values at the practice level (the unit KBZ is assigned "
        "to; {k} KBZ and {c} control practices): delete-one-practice jackknife variance "
        "stratified by group (CR2 for a difference of means) with a t reference on "
        "Welch–Satterthwaite degrees of freedom":
            "{level}%-intervallen en p-waarden op praktijkniveau (de eenheid waaraan KBZ "
            "wordt toegewezen; {k} KBZ- en {c} controlepraktijken): jackknifevariantie "
            "zonder telkens één praktijk, gestratificeerd naar groep (CR2 voor een verschil "
            "van gemiddelden), getoetst aan een t-verdeling met Welch–Satterthwaite-"
            "vrijheidsgraden",
        "{level}% intervals and p-values at the practice level (the unit KBZ is assigned "
        "to; {k} KBZ and {c} control practices): delete-one-practice jackknife variance "
        "stratified by group (CR2 for a difference of means) with a t reference on "
        "Welch–Satterthwaite degrees of freedom (the wild bootstrap needs at least {w} "
        "practices per group)":
            "{level}%-intervallen en p-waarden op praktijkniveau (de eenheid waaraan KBZ "
            "wordt toegewezen; {k} KBZ- en {c} controlepraktijken): jackknifevariantie "
            "zonder telkens één praktijk, gestratificeerd naar groep (CR2 voor een verschil "
            "van gemiddelden), getoetst aan een t-verdeling met Welch–Satterthwaite-"
            "vrijheidsgraden (de wild bootstrap vraagt minstens {w} praktijken per groep)",
    }
    randomisation = (
        "; randomisation p-value over {n} {which:term} relabellings of the practices "
        "(smallest attainable p = {p})",
        "; randomisatie-p-waarde over {n} {which} herindelingen van de praktijken "
        "(kleinst haalbare p = {p})")
    endings = [("", ""), ("; seed {seed:year}", "; seed {seed}"),
               ("; the null of every O/E and ratio is {null}",
                "; de nulhypothese van elke O/E en verhouding is {null}")]
    out: dict[str, str] = {}
    for en, nl in heads.items():
        for r_en, r_nl in (("", ""), randomisation):
            for e_en, e_nl in endings:
                out[en + r_en + e_en] = nl + r_nl + e_nl
    return out


CATALOGUE.update(_practice_inference())
TERMS.update({"(all)": "(alle)", "random": "willekeurige"})


_NUMBER = r"[+−\-]?(?:€\s?)?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?%?"
_KINDS = {
    "num": _NUMBER,
    "year": r"[−\-]?\d+",
    "text": r"[^;]+?",
    "term": r".*?",
    "nums": r"[^;]+?",
    "frag": r".+?",
}
_PLACEHOLDER = re.compile(r"\{(\w+)(?::(\w+))?\}")
#: Where a sentence may end: after . ! ? (or a closing bracket or quote after them),
#: before white space and a letter, a digit, a bracket, a quote or a column name.
_BOUNDARY = re.compile(r"(?<=[.!?])[)\"'’”]?\s+(?=[A-Za-z0-9(\"'‘“€−`_\-])")
#: Abbreviations after which a full stop does not end a sentence.
_ABBREVIATIONS = ("e.g.", "i.e.", "cf.", "vs.", "et al.", "approx.", "incl.", "resp.",
                  "no.", "Fig.", "St.", "eqs.", "eq.", "o.a.", "bijv.", "d.w.z.")


@dataclass(frozen=True)
class _Template:
    english: str
    dutch: str
    pattern: re.Pattern[str]
    kinds: dict[str, str]


def _compile(english: str, dutch: str) -> _Template:
    english, dutch = english.removesuffix("."), dutch.removesuffix(".")
    parts: list[str] = []
    kinds: dict[str, str] = {}
    last = 0
    for m in _PLACEHOLDER.finditer(english):
        parts.append(re.escape(english[last:m.start()]))
        name, kind = m.group(1), m.group(2) or "num"
        if kind not in _KINDS:
            raise ValueError(f"unknown placeholder kind {kind!r} in {english!r}")
        if name in kinds:
            parts.append(f"(?P={name})")
        else:
            parts.append(f"(?P<{name}>{_KINDS[kind]})")
            kinds[name] = kind
        last = m.end()
    parts.append(re.escape(english[last:]))
    regex = "".join(parts).replace(r"\ ", r"\s+")
    used = {m.group(1) for m in _PLACEHOLDER.finditer(dutch)}
    if used - set(kinds):
        raise ValueError(f"Dutch template names unknown placeholders {sorted(used - set(kinds))}"
                         f": {dutch!r}")
    return _Template(english, dutch, re.compile(regex + r"\Z", re.DOTALL), kinds)


@lru_cache(maxsize=1)
def _templates() -> tuple[_Template, ...]:
    compiled = [_compile(en, nl) for en, nl in CATALOGUE.items()]
    # the most specific (longest literal text) first, so that a general template never
    # shadows a particular one
    return tuple(sorted(compiled, key=lambda t: -len(_PLACEHOLDER.sub("", t.english))))


def sentences(text: str) -> list[str]:
    """``text`` split into sentences (abbreviations such as "e.g." do not end one)."""
    text = " ".join(text.split())
    if not text:
        return []
    out: list[str] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        head = text[start:m.start() + len(m.group(0).rstrip())].rstrip()
        if head.endswith(_ABBREVIATIONS):
            continue
        out.append(head)
        start = m.end()
    out.append(text[start:].strip())
    return [s for s in out if s]


def number(token: str, language: str) -> str:
    """An English-written number (``−1,234.5``, ``€356``, ``12.3%``) in ``language``:
    decimals kept, true minus sign; a whole number written without grouping (a year, a
    seed, a count) keeps its digits."""
    text = token.strip()
    plus = text.startswith("+")
    sign = text.startswith(("−", "-"))
    body = text[1:] if sign or plus else text
    euro = body.startswith("€")
    body = body.lstrip("€").strip()
    percent = body.endswith("%")
    body = body.rstrip("%")
    grouped = "," in body
    whole, _, decimals = body.replace(",", "").partition(".")
    if not decimals and not grouped:
        out = whole
    else:
        value = float(f"{whole}.{decimals or 0}")
        out = fmt.number(value, language=language, decimals=len(decimals))
    if euro:
        out = f"€ {out}" if language == "nl" else f"€{out}"
    if percent:
        out = f"{out}%"
    if sign and float(f"{whole}.{decimals or 0}") != 0:
        return fmt.MINUS + out
    return ("+" + out) if plus else out


def _fill(template: _Template, match: re.Match[str], language: str) -> str:
    values: dict[str, str] = {}
    for name, kind in template.kinds.items():
        raw = match.group(name)
        if kind == "num":
            values[name] = number(raw, language)
        elif kind == "year":
            values[name] = raw.replace("-", fmt.MINUS)
        elif kind == "nums":
            values[name] = re.sub(_NUMBER, lambda t: number(t.group(0), language), raw)
        elif kind == "frag":
            values[name] = _written(raw, language) or raw
        elif kind == "term" and language == "nl":
            values[name] = TERMS.get(raw, raw)
        else:
            values[name] = raw
    target = template.dutch if language == "nl" else template.english
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], target)


def _accepted(raw: str, kind: str) -> bool:
    """Whether a placeholder's text can be written in Dutch: a fragment must have a
    template of its own, a term must be listed (or hold no words, e.g. practice ids)."""
    if kind == "frag":
        return _written(raw, "en") is not None
    if kind == "term":
        return raw in TERMS or not re.search(r"[a-z]{2}", raw)
    return True


def _match(sentence: str) -> tuple[_Template, re.Match[str]] | None:
    for template in _templates():
        m = template.pattern.match(sentence)
        if m is not None and all(_accepted(m.group(name), kind)
                                 for name, kind in template.kinds.items()):
            return template, m
    return None


def _written(sentence: str, language: str) -> str | None:
    """One sentence or clause through its template; the closing full stop, when there
    is one, is kept (a template matches with or without it)."""
    body, stop = (sentence[:-1], ".") if sentence.endswith(".") else (sentence, "")
    found = _match(body)
    return None if found is None else _fill(*found, language) + stop


def _clauses(sentence: str) -> list[str]:
    """A sentence without a template of its own, split into its clauses (at "; ")."""
    return [c for c in re.split(r"(?<=;) ", sentence) if c]


def _translate(sentence: str, language: str) -> str | None:
    whole = _written(sentence, language)
    if whole is not None:
        return whole
    parts = _clauses(sentence)
    if len(parts) < 2:
        return None
    out = []
    for part in parts:
        written = _written(part[:-1] if part.endswith(";") else part, language)
        if written is None:
            return None
        out.append(written + (";" if part.endswith(";") else ""))
    return " ".join(out)


def localise(text: str, language: str) -> str:
    """``text`` (English sentences) written in ``language``: each sentence through its
    catalogue template, numbers in the language's marks. A sentence without a template
    stays as it is (:func:`untranslated` lists them); English text is returned as it
    is."""
    if language == "en" or not text:
        return text
    if language not in fmt.LOCALES:
        raise ValueError(f"language must be one of {sorted(fmt.LOCALES)}, got {language!r}")
    out = []
    for sentence in sentences(text):
        written = _translate(sentence, language)
        out.append(sentence if written is None else written)
    return " ".join(out)


def untranslated(text: str) -> list[str]:
    """The sentences of ``text`` that have no catalogue template."""
    return [s for s in sentences(text) if _translate(s, "en") is None]

# The practice pages' run charts (practice_trends): the method text, clause by clause
# where the chart options change a clause.
CATALOGUE.update({
    "Per practice and indicator, the yearly rate per insured year (sum over the "
    "practice's person-years / their insured years; {pop:term}) on an XmR chart as in "
    "NHS 'Making Data Count' / NHSRplotthedots: centre = mean of the baseline years, "
    "limits = centre ± 2.66 × the mean moving range (± 3σ̂); special causes: a year "
    "outside the limits, a run on one side of the centre, a trend, two of three years "
    "beyond the same 2σ̂ line; every year of a signal is flagged":
        "Per praktijk en indicator het jaarcijfer per verzekerdejaar (som over de "
        "persoonsjaren van de praktijk / hun verzekerdejaren; {pop}) op een XmR-kaart zoals "
        "in NHS 'Making Data Count' / NHSRplotthedots: middellijn = gemiddelde van de "
        "basisjaren, grenzen = middellijn ± 2,66 × de gemiddelde moving range (± 3σ̂); "
        "bijzondere oorzaken: een jaar buiten de grenzen, een reeks aan één kant van de "
        "middellijn, een trend, twee van drie jaren voorbij dezelfde 2σ̂-lijn; elk jaar van "
        "een signaal wordt gemarkeerd",
    "Limits re-based at each KBZ practice's own start year (kbz_start_year) and, for the "
    "control practices, at the most common KBZ start year ({year:year})":
        "Grenzen opnieuw bepaald vanaf het eigen startjaar van elke KBZ-praktijk "
        "(kbz_start_year) en, voor de controlepraktijken, vanaf het meest voorkomende "
        "startjaar van KBZ ({year})",
    "Limits re-based at each KBZ practice's own start year (kbz_start_year) and, for the "
    "control practices, at the most common KBZ start year (none known)":
        "Grenzen opnieuw bepaald vanaf het eigen startjaar van elke KBZ-praktijk "
        "(kbz_start_year) en, voor de controlepraktijken, vanaf het meest voorkomende "
        "startjaar van KBZ (geen bekend)",
    "Limits re-based at {year:year} (all practices)":
        "Grenzen opnieuw bepaald vanaf {year} (alle praktijken)",
    "Limits not re-based": "Grenzen niet opnieuw bepaald",
    "baseline: every point of the segment": "basis: elk punt van het segment",
    "baseline: the first {n} points of each segment":
        "basis: de eerste {n} punten van elk segment",
    "moving ranges ≥ {f} × MR̄ screened out once":
        "moving ranges ≥ {f} × MR̄ eenmaal uitgesloten",
    "no screening of moving ranges": "geen uitsluiting van moving ranges",
    "rules: {rules:text} (run of {run}+ on one side, trend of {trend}+ points)":
        "regels: {rules} (reeks van {run}+ aan één kant, trend van {trend}+ punten)",
    "improvement: {direction:term}": "verbetering: {direction}",
    "Peers: the other KBZ practices and the other control practices, pooled rate per "
    "insured year (the practice itself left out)":
        "Vergelijking: de andere KBZ-praktijken en de andere controlepraktijken, gepoold "
        "cijfer per verzekerdejaar (de praktijk zelf weggelaten)",
    "Descriptive: the practice's own variation over time; the limits are not a test of "
    "the practice against the others; no case-mix adjustment; every year counts equally "
    "whatever the number of insured persons; with few yearly points (fewer than {n}) the "
    "limits are provisional":
        "Beschrijvend: de eigen variatie van de praktijk in de tijd; de grenzen zijn geen "
        "toets van de praktijk tegenover de andere; geen correctie voor case-mix; elk jaar "
        "telt even zwaar, ongeacht het aantal verzekerden; met weinig jaarpunten (minder "
        "dan {n}) zijn de grenzen voorlopig",
})
TERMS.update({"decrease": "daling", "increase": "stijging"})
