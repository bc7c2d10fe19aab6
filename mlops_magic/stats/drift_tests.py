"""Two-sample drift statistics as pure numpy functions.

Each statistic equals scipy's on the same data (``ks_2samp``, ``wasserstein_distance``,
``chi2_contingency``, ``spatial.distance.jensenshannon``; checked to 1e-9 in the tests) but
is computed from sorted arrays and count vectors, so one sort per side serves KS,
Wasserstein, quantiles, ranges and charts. scipy is used only for p-value distributions.

Names: ``*_sorted`` functions take finite float arrays sorted ascending; ``*_counts``
functions take two aligned count vectors (same categories or bins, in the same order).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

#: Proportion used in place of an empty bin in PSI (the textbook 0.0001), so log(0) never occurs.
PSI_EPSILON = 1e-4
#: scipy's ``ks_2samp`` computes exact p-values up to this sample size, asymptotic ones above.
KS_EXACT_MAX_N = 10_000


def finite_sorted(values: Any) -> np.ndarray:
    """Sorted float64 copy of the finite values (NaN and ±inf count as missing)."""
    x = np.asarray(values, dtype=np.float64).ravel()
    return np.sort(x[np.isfinite(x)])


# -- numeric: KS and Wasserstein from one merge ------------------------------------------


def ks_wasserstein_sorted(ref: np.ndarray, cur: np.ndarray) -> tuple[float, float]:
    """KS statistic D and Wasserstein-1 distance of two sorted samples, exactly.

    Both are functionals of the difference of the two empirical CDFs on the merged
    sample; a stable argsort of two concatenated sorted runs is a single O(n) merge.
    """
    n1, n2 = ref.size, cur.size
    both = np.concatenate((ref, cur))
    order = np.argsort(both, kind="stable")
    merged = np.take(both, order)
    below = np.cumsum((order < n1)[:-1], dtype=np.int64)  # reference values <= merged[k]
    del both, order
    # n1 * n2 * |F_ref - F_cur| = |below * n2 - (k - below) * n1|, in exact integers
    gap = below * (n1 + n2)
    gap -= np.arange(1, n1 + n2, dtype=np.int64) * n1
    np.abs(gap, out=gap)
    deltas = np.diff(merged)
    # Inside a run of ties the counts are partial, but there deltas == 0: they add nothing
    # to the integral and are skipped for the maximum, matching scipy's side='right' CDFs.
    scale = float(n1) * float(n2)
    d = float(np.max(gap, where=deltas > 0, initial=0)) / scale
    w = float(np.multiply(gap, deltas).sum()) / scale  # not np.dot: BLAS threads stall under load
    return d, w


def ks_pvalue(d: float, n1: int, n2: int) -> float:
    """Two-sided asymptotic KS p-value for sample sizes n1 and n2.

    scipy's ``ks_2samp(method='asymp')`` evaluates ``kstwo.sf(d, round(en))``, which costs
    up to a second per call at a million rows. Up to en = 10,000 we do the same; above,
    the Kolmogorov limit with Stephens' correction, within 1.4e-3 of kstwo there
    (measured; see docs/monitoring.md).
    """
    en = n1 * n2 / (n1 + n2)
    if en <= KS_EXACT_MAX_N:
        from scipy.stats import kstwo

        return float(np.clip(kstwo.sf(d, np.round(en)), 0.0, 1.0))
    from scipy.special import kolmogorov

    root = math.sqrt(en)
    return float(np.clip(kolmogorov((root + 0.12 + 0.11 / root) * d), 0.0, 1.0))


def ks(reference: Any, current: Any) -> tuple[float, float]:
    """KS statistic and p-value; exact p below 10,000 values per side, like scipy's default."""
    ref, cur = finite_sorted(reference), finite_sorted(current)
    d, _ = ks_wasserstein_sorted(ref, cur)
    return d, ks_pvalue_for(d, ref, cur)


def ks_pvalue_for(d: float, ref: np.ndarray, cur: np.ndarray) -> float:
    """KS p-value for two samples: scipy's exact method when small, else asymptotic."""
    if max(ref.size, cur.size) <= KS_EXACT_MAX_N:
        from scipy.stats import ks_2samp

        return float(ks_2samp(ref, cur).pvalue)
    return ks_pvalue(d, ref.size, cur.size)


def wasserstein(reference: Any, current: Any) -> float:
    """Wasserstein-1 (earth mover's) distance between two samples, in the data's units."""
    return ks_wasserstein_sorted(finite_sorted(reference), finite_sorted(current))[1]


# -- numeric against a quantile profile (approximate) ------------------------------------


def quantiles_sorted(values: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Quantiles of sorted values by linear interpolation (numpy's default method)."""
    pos = probs * (values.size - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, values.size - 1)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)


def quantile_cdf(qv: np.ndarray, probs: np.ndarray, x: np.ndarray, right: bool = True) -> np.ndarray:
    """The reference CDF at x, interpolated linearly between stored quantiles.

    ``right=False`` gives the left limit F(x-). Tied quantiles are jumps: a value equal to
    a tie gets the last tied probability (right) or the first (left).
    """
    # Segment j lies between knots j-1 and j: F = probs[j-1] + slope * (x - qv[j-1]);
    # segment 0 is below the minimum (F = 0), segment m above the maximum (F = 1).
    # The searchsorted side guarantees a used segment never has zero width.
    span = np.diff(qv)
    slope = np.divide(np.diff(probs), span, out=np.zeros_like(span), where=span > 0)
    base = np.concatenate(([0.0], probs[:-1], [1.0]))
    anchor = np.concatenate(([0.0], qv[:-1], [0.0]))
    slope = np.concatenate(([0.0], slope, [0.0]))
    j = np.searchsorted(qv, x, side="right" if right else "left")
    return base[j] + slope[j] * (x - anchor[j])


def ks_quantiles(qv: np.ndarray, probs: np.ndarray, cur: np.ndarray) -> float:
    """KS statistic of a sorted sample against a quantile-profile CDF.

    The current CDF is a step function and the reference CDF increases between steps, so
    the supremum is F_cur(x) - F_ref(x) or F_ref(x-) - F_cur(x-) at a step x. Inside a run
    of tied values the partial counts only underestimate both, so no tie mask is needed.
    """
    n = cur.size
    right = quantile_cdf(qv, probs, cur)
    left = right if np.all(qv[1:] != qv[:-1]) else quantile_cdf(qv, probs, cur, right=False)
    i = np.arange(n, dtype=np.float64)
    above = float(np.max((i + 1) / n - right))
    below = float(np.max(left - i / n))
    return max(above, below, 0.0)


def wasserstein_quantiles(qv: np.ndarray, probs: np.ndarray, cur: np.ndarray) -> float:
    """Wasserstein-1 as the integral of |Q_ref(t) - Q_cur(t)| over t, by the midpoint rule."""
    t = (np.arange(cur.size) + 0.5) / cur.size
    return float(np.mean(np.abs(np.interp(t, probs, qv) - cur)))


# -- binning for count-based tests on numeric columns ------------------------------------


def bin_counts_sorted(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts in bins (-inf, e1], (e1, e2], ..., (e_last, inf) of a sorted sample."""
    cuts = np.searchsorted(values, edges, side="right")
    return np.diff(np.concatenate(([0], cuts, [values.size]))).astype(np.float64)


# -- categorical: chi-squared, Jensen-Shannon, PSI on aligned counts ---------------------


def _nonempty(ref: Any, cur: Any) -> tuple[np.ndarray, np.ndarray]:
    r, c = np.asarray(ref, dtype=np.float64), np.asarray(cur, dtype=np.float64)
    keep = (r + c) > 0
    return r[keep], c[keep]


def chi2_counts(ref: Any, cur: Any) -> tuple[float, float, float]:
    """Chi-squared test of homogeneity on the 2xK table: (statistic, p-value, Cramér's V).

    The two-sample contingency form (``scipy.stats.chi2_contingency``, with its Yates
    correction when K == 2): both rows are samples, so an unchanged column is not
    over-flagged as it is when reference proportions are taken as exact.
    """
    r, c = _nonempty(ref, cur)
    k = r.size
    if k < 2:
        return 0.0, 1.0, 0.0
    nr, nc = r.sum(), c.sum()
    total = nr + nc
    col = r + c
    obs = np.stack((r, c))
    exp = np.stack((col * (nr / total), col * (nc / total)))
    if k == 2:  # one degree of freedom: Yates' continuity correction, as scipy applies it
        gap = exp - obs
        obs = obs + np.minimum(0.5, np.abs(gap)) * np.sign(gap)
    stat = float(((obs - exp) ** 2 / exp).sum())
    from scipy.stats import chi2

    p = float(chi2.sf(stat, k - 1))
    return stat, p, math.sqrt(stat / total)


def jensenshannon_counts(ref: Any, cur: Any) -> float:
    """Jensen-Shannon distance (natural log, so within [0, sqrt(ln 2)]), as scipy's."""
    r, c = _nonempty(ref, cur)
    if r.size == 0:
        return 0.0
    p, q = r / r.sum(), c / c.sum()
    m = (p + q) / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        left = np.where(p > 0, p * np.log(p / m), 0.0)
        right = np.where(q > 0, q * np.log(q / m), 0.0)
    return math.sqrt(max(float(left.sum() + right.sum()) / 2.0, 0.0))


def psi_counts(ref: Any, cur: Any, epsilon: float = PSI_EPSILON) -> float:
    """Population stability index: sum((cur% - ref%) * ln(cur% / ref%)) over bins.

    Empty bins get the proportion ``epsilon`` (no renormalisation), the textbook fix.
    """
    r, c = _nonempty(ref, cur)
    if r.size == 0:
        return 0.0
    p, q = r / r.sum(), c / c.sum()
    p, q = np.where(p > 0, p, epsilon), np.where(q > 0, q, epsilon)
    return float(((q - p) * np.log(q / p)).sum())
