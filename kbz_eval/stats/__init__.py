"""The numerics the analyses share, each written once.

- :mod:`~kbz_eval.stats.options` — every option value (``Literal``) and the one checker;
- :mod:`~kbz_eval.stats.bootstrap` — stratified unit bootstrap of a statistic of sums,
  BCa and percentile intervals;
- :mod:`~kbz_eval.stats.practice` — inference at the practice level (jackknife / CR2 with
  Satterthwaite df, wild cluster bootstrap-t with Webb weights, randomisation over
  practice assignments);
- :mod:`~kbz_eval.stats.sandwich` — the CR1 factor, CR2 and Bell–McCaffrey df;
- :mod:`~kbz_eval.stats.wild` — the restricted wild cluster bootstrap of a linear model;
- :mod:`~kbz_eval.stats.glm` — Poisson GLMs on cell sums (batched Newton);
- :mod:`~kbz_eval.stats.multiplicity` — Holm adjustment;
- :mod:`~kbz_eval.stats.pvalues` — p-values written for people.

Nothing here imports matplotlib or pandas-level analysis code.
"""
