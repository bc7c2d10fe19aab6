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


# -- numeric: KS and Wasserstein from the two sorted samples --------------------------------


def ks_wasserstein_sorted(ref: np.ndarray, cur: np.ndarray) -> tuple[float, float]:
    """KS statistic D and Wasserstein-1 distance of two sorted samples, exactly."""
    return ks_sorted(ref, cur), wasserstein_sorted(ref, cur)


#: Every KS_STEP-th value of each side is a checkpoint of the coarse pass of :func:`ks_sorted`.
KS_STEP = 64


def ks_sorted(ref: np.ndarray, cur: np.ndarray) -> float:
    """KS statistic D of two sorted samples, exactly, without merging them.

    n1 * n2 * |F_ref(v) - F_cur(v)| = |n2 * R(v) - n1 * C(v)|, with R and C the counts of values <= v,
    is exact in integers at every value v; D is its maximum over the values. It is computed first at
    checkpoints (every KS_STEP-th value of each side: a few binary searches). Between two checkpoints
    R and C are bounded by their values at the ends, which bounds the gap there; only the few intervals
    whose bound exceeds the best checkpoint can hold the maximum, and their values (fewer than KS_STEP
    per side each: a value repeated more often is itself a checkpoint) are evaluated exactly. When the
    bounds prune too little (two nearly equal samples) the samples are merged instead.
    """
    n1, n2 = ref.size, cur.size
    if n1 + n2 <= 16 * KS_STEP:
        return _ks_merged(ref, cur)
    r_at, r_below, c_at, c_below = _checkpoints(ref, cur)
    best = int(np.abs(r_at * n2 - c_at * n1).max())
    # the open interval before each checkpoint and after the last: counts of its values lie in [lo, hi]
    # (an interval between two equal checkpoints is empty: hi = lo)
    r_lo, c_lo = np.append(0, r_at), np.append(0, c_at)
    r_hi = np.maximum(np.append(r_below, n1), r_lo)
    c_hi = np.maximum(np.append(c_below, n2), c_lo)
    bound = np.maximum(np.abs(r_lo * n2 - c_hi * n1), np.abs(r_hi * n2 - c_lo * n1))
    open_ = np.flatnonzero(bound > best)
    if open_.size == 0:
        return best / (float(n1) * float(n2))
    inside = (r_hi - r_lo)[open_].sum() + (c_hi - c_lo)[open_].sum()
    if inside > (n1 + n2) // 8:
        return _ks_merged(ref, cur)
    values = np.concatenate((ref[_spans(r_lo[open_], r_hi[open_])], cur[_spans(c_lo[open_], c_hi[open_])]))
    gaps = np.searchsorted(ref, values, "right") * n2 - np.searchsorted(cur, values, "right") * n1
    return max(best, int(np.abs(gaps).max(initial=0))) / (float(n1) * float(n2))


def _checkpoints(ref: np.ndarray, cur: np.ndarray) -> tuple[np.ndarray, ...]:
    """At every KS_STEP-th value of either side, in value order: the counts of ref values <= and < it,
    and of cur values <= and < it."""
    at_ref, ref_le, ref_lt, cur_le, cur_lt = _counts_at_marks(ref, cur)
    at_cur, cur_le2, cur_lt2, ref_le2, ref_lt2 = _counts_at_marks(cur, ref)
    order = np.argsort(np.concatenate((at_ref, at_cur)), kind="stable")
    return tuple(np.concatenate(pair)[order] for pair in
                 ((ref_le, ref_le2), (ref_lt, ref_lt2), (cur_le, cur_le2), (cur_lt, cur_lt2)))


def _counts_at_marks(own: np.ndarray, other: np.ndarray) -> tuple[np.ndarray, ...]:
    """Every KS_STEP-th value v of ``own`` and the counts of own values <= v and < v (its position, unless
    v is repeated there) and of other values <= v and < v (one binary search, a second only for ties)."""
    at = np.arange(KS_STEP - 1, own.size, KS_STEP)
    v = own[at]
    own_le, own_lt = at + 1, at.copy()
    tied = own_le < own.size
    tied[tied] = own[own_le[tied]] == v[tied]
    if tied.any():
        own_le[tied] = np.searchsorted(own, v[tied], "right")
    tied = own[at - 1] == v
    if tied.any():
        own_lt[tied] = np.searchsorted(own, v[tied], "left")
    other_le = np.searchsorted(other, v, "right")
    other_lt = other_le.copy()
    tied = other_le > 0
    tied[tied] = other[other_le[tied] - 1] == v[tied]
    if tied.any():
        other_lt[tied] = np.searchsorted(other, v[tied], "left")
    return v, own_le, own_lt, other_le, other_lt


def _spans(starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """The indices start..stop-1 of every (start, stop) pair, concatenated."""
    lengths = stops - starts
    return np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(int(lengths.sum()))


def _ks_merged(ref: np.ndarray, cur: np.ndarray) -> float:
    """KS D from the merged samples: a stable argsort of two sorted runs is a single merge."""
    n1, n2 = ref.size, cur.size
    both = np.concatenate((ref, cur))
    order = np.argsort(both, kind="stable")
    below = np.cumsum((order < n1)[:-1], dtype=np.int64)  # reference values <= merged[k]
    deltas = np.diff(np.take(both, order))
    del both, order
    # n1 * n2 * |F_ref - F_cur| = |below * n2 - (k - below) * n1|, in exact integers
    gap = below * (n1 + n2)
    gap -= np.arange(1, n1 + n2, dtype=np.int64) * n1
    np.abs(gap, out=gap)
    # Inside a run of ties the counts are partial, but there deltas == 0: skipped for the maximum,
    # matching scipy's side='right' CDFs.
    return float(np.max(gap, where=deltas > 0, initial=0)) / (float(n1) * float(n2))


def wasserstein_sorted(ref: np.ndarray, cur: np.ndarray) -> float:
    """Wasserstein-1 of two sorted samples: the integral over t of |Q_ref(t) - Q_cur(t)|.

    The quantile functions step at i / n1 and j / n2, a grid known without looking at the data, so the
    integral is a sum over each side's steps (:func:`_step_sum`) instead of a merge. scipy integrates
    |F_ref - F_cur| over the merged values instead: the same number, to the last bit or two.
    """
    n1, n2 = ref.size, cur.size
    total = _step_sum(ref, cur, ties=True)
    if n1 != n2:  # equal sizes: every step of cur coincides with one of ref, and was counted there
        total += _step_sum(cur, ref, ties=False)
    return total / (float(n1) * float(n2))


#: Steps summed at a time by :func:`_step_sum`: its temporaries stay in the L2 cache.
_BLOCK = 1 << 16


def _step_sum(own: np.ndarray, other: np.ndarray, *, ties: bool) -> float:
    """Sum over the steps of ``own``'s quantile function of |difference| x length, in 1 / (n1 * n2).

    In those units own's i-th step ends at i * m (m = other.size, n = own.size), where the other
    function's value is other[(i*m - 1) // n]; the segment since the previous step of either function
    has length min(m, (i*m - 1) % n + 1). Where a step of the other function falls at the same place,
    ``ties=False`` leaves the segment to that function's sum (length 0 here).
    """
    n, m = own.size, other.size
    if n == m and not ties:
        return 0.0  # every step falls on one of the other's
    total = 0.0
    for lo in range(0, n, _BLOCK):
        hi = min(lo + _BLOCK, n)
        at: Any
        length: Any
        if n == m:  # the other's value at own's i-th step is other[i - 1], over a full step
            at, length = slice(lo, hi), m
        else:
            step_end = np.arange((lo + 1) * m - 1, hi * m, m, dtype=np.int64)  # i*m - 1
            at = step_end // n  # a division by one number: numpy divides without a hardware divide
            length = np.subtract(step_end, at * n, out=step_end)  # (i*m - 1) % n
            if not ties:
                length[length == n - 1] = -1  # the segment is the other side's: length 0 below
            length += 1
            np.minimum(length, m, out=length)
        gap = np.subtract(own[lo:hi], other[at])
        np.abs(gap, out=gap)
        total += float(np.multiply(gap, length, out=gap).sum())  # multiply and sum, not np.dot (BLAS threads)
    return total


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
    d = ks_sorted(ref, cur)
    return d, ks_pvalue_for(d, ref, cur)


def ks_pvalue_for(d: float, ref: np.ndarray, cur: np.ndarray) -> float:
    """KS p-value for two samples: scipy's exact method when small, else asymptotic."""
    if max(ref.size, cur.size) <= KS_EXACT_MAX_N:
        from scipy.stats import ks_2samp

        return float(ks_2samp(ref, cur).pvalue)
    return ks_pvalue(d, ref.size, cur.size)


def wasserstein(reference: Any, current: Any) -> float:
    """Wasserstein-1 (earth mover's) distance between two samples, in the data's units."""
    return wasserstein_sorted(finite_sorted(reference), finite_sorted(current))


# -- numeric against a quantile profile (approximate) ------------------------------------


def quantiles_sorted(values: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Quantiles of sorted values by linear interpolation (numpy's default method)."""
    pos = probs * (values.size - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, values.size - 1)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)


def quantile_cdf(qv: np.ndarray, probs: np.ndarray, x: np.ndarray, right: bool = True, *,
                 x_sorted: bool = False) -> np.ndarray:
    """The reference CDF at x, interpolated linearly between stored quantiles.

    ``right=False`` gives the left limit F(x-). Tied quantiles are jumps: a value equal to
    a tie gets the last tied probability (right) or the first (left). With ``x_sorted``
    (ascending) the segment of each x comes from where the ~1,000 knots fall among the x,
    not from a binary search per x.
    """
    # Segment j lies between knots j-1 and j: F = probs[j-1] + slope * (x - qv[j-1]);
    # segment 0 is below the minimum (F = 0), segment m above the maximum (F = 1).
    # The searchsorted side guarantees a used segment never has zero width.
    span = np.diff(qv)
    slope = np.divide(np.diff(probs), span, out=np.zeros_like(span), where=span > 0)
    base = np.concatenate(([0.0], probs[:-1], [1.0]))
    anchor = np.concatenate(([0.0], qv[:-1], [0.0]))
    slope = np.concatenate(([0.0], slope, [0.0]))
    if x_sorted:  # x in segment j from the first x at or past knot j-1 (per side) to the first past knot j
        bounds = np.searchsorted(x, qv, side="left" if right else "right")
        lengths = np.diff(bounds, prepend=0, append=x.size)
        return np.repeat(base, lengths) + np.repeat(slope, lengths) * (x - np.repeat(anchor, lengths))
    j = np.searchsorted(qv, x, side="right" if right else "left")
    return base[j] + slope[j] * (x - anchor[j])


def ks_quantiles(qv: np.ndarray, probs: np.ndarray, cur: np.ndarray) -> float:
    """KS statistic of a sorted sample against a quantile-profile CDF.

    The current CDF is a step function and the reference CDF increases between steps, so
    the supremum is F_cur(x) - F_ref(x) or F_ref(x-) - F_cur(x-) at a step x. Inside a run
    of tied values the partial counts only underestimate both, so no tie mask is needed.
    """
    n = cur.size
    right = quantile_cdf(qv, probs, cur, x_sorted=True)
    left = right if np.all(qv[1:] != qv[:-1]) else quantile_cdf(qv, probs, cur, right=False, x_sorted=True)
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
