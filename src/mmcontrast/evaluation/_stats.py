"""Student-t quantiles without scipy, for the confidence intervals of the few-label curves.

The t distribution's CDF is a regularised incomplete beta function, evaluated by its
continued fraction (modified Lentz, as in Numerical Recipes §6.4); the quantile inverts it by
bisection on ``t``. Accurate to about 1e-12 relative for ``df >= 1``.
"""

from __future__ import annotations

import math

__all__ = ["mean_interval", "t_quantile"]


def t_quantile(p: float, df: float) -> float:
    """The ``p`` quantile of Student's t distribution with ``df`` degrees of freedom.

    ``t_quantile(0.975, 2)`` is 4.3027, the factor of a two-sided 95 % interval from 3 seeds.
    """
    if not (0.0 < p < 1.0):
        raise ValueError(f"t_quantile: p must be in (0, 1), got {p!r}")
    if not (df > 0.0 and math.isfinite(df)):
        raise ValueError(f"t_quantile: df must be a finite number > 0, got {df!r}")
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    # Far from the centre, solve P(T > t) = 1 - p; near it, P(0 < T < t) = p - 1/2, each the
    # form whose incomplete-beta argument keeps its precision.
    if p > 0.75:
        target, excess = 1.0 - p, _upper_tail
    else:
        target, excess = p - 0.5, _central
    decreasing = p > 0.75
    high = 1.0
    while (excess(high, df) > target) == decreasing:
        high *= 2.0
    low = 0.0
    for _ in range(200):
        middle = 0.5 * (low + high)
        if (excess(middle, df) > target) == decreasing:
            low = middle
        else:
            high = middle
        if high - low <= 1e-15 * high:
            break
    return 0.5 * (low + high)


def mean_interval(values: list[float], confidence: float) -> tuple[float, float, float, float]:
    """Mean, sample std (``n - 1``) and the two-sided t interval of the mean.

    With a single value the std and the interval are NaN (nothing to estimate them from).
    """
    n = len(values)
    mean = math.fsum(values) / n
    if n < 2:
        return mean, math.nan, math.nan, math.nan
    std = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    half = t_quantile(0.5 + confidence / 2.0, n - 1) * std / math.sqrt(n)
    return mean, std, mean - half, mean + half


def _upper_tail(t: float, df: float) -> float:
    """``P(T > t)`` for ``t >= 0``: half the regularised incomplete beta at ``df / (df + t^2)``."""
    return 0.5 * _betainc(0.5 * df, 0.5, df / (df + t * t))


def _central(t: float, df: float) -> float:
    """``P(0 < T < t)`` for ``t >= 0``."""
    t2 = t * t
    return 0.5 * _betainc(0.5, 0.5 * df, t2 / (df + t2))


def _betainc(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function ``I_x(a, b)``."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_fraction(b, a, 1.0 - x) / b


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    c = 1.0
    d = 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 1000):
        m2 = 2 * m
        numerator = m * (b - m) * x / ((a + m2 - 1.0) * (a + m2))
        d = 1.0 + numerator * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + numerator / c
        c = c if abs(c) > tiny else tiny
        result *= d * c
        numerator = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0))
        d = 1.0 + numerator * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + numerator / c
        c = c if abs(c) > tiny else tiny
        step = d * c
        result *= step
        if abs(step - 1.0) < 1e-15:
            break
    return result
