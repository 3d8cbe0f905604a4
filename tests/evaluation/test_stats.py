from __future__ import annotations

import math

import pytest

from mmcontrast.evaluation._stats import mean_interval, t_quantile

# Two-sided 95 % and 99 % and one-sided 95 % critical values of Student's t, as printed in
# statistical tables (here to 10 significant digits).
KNOWN = {
    0.975: {
        1: 12.70620474,
        2: 4.302652730,
        3: 3.182446305,
        4: 2.776445105,
        5: 2.570581836,
        9: 2.262157163,
        10: 2.228138852,
        29: 2.045229642,
        30: 2.042272456,
        120: 1.979930405,
    },
    0.995: {1: 63.65674116, 2: 9.924843201, 5: 4.032142984, 10: 3.169272673, 30: 2.749995654},
    0.95: {1: 6.313751515, 2: 2.919985580, 4: 2.131846786, 9: 1.833112933, 120: 1.657650899},
}


@pytest.mark.parametrize(
    ("p", "df", "expected"),
    [(p, df, value) for p, table in KNOWN.items() for df, value in table.items()],
)
def test_t_quantile_matches_the_tables(p: float, df: int, expected: float) -> None:
    assert t_quantile(p, df) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("p", [0.5000001, 0.51, 0.6, 0.75, 0.8, 0.9, 0.99, 0.9999, 1 - 1e-6])
def test_t_quantile_closed_forms(p: float) -> None:
    # df = 1 is the Cauchy distribution; df = 2 has F^-1(p) = (2p - 1) / sqrt(2 p (1 - p)).
    assert t_quantile(p, 1) == pytest.approx(math.tan(math.pi * (p - 0.5)), rel=1e-9)
    assert t_quantile(p, 2) == pytest.approx((2 * p - 1) / math.sqrt(2 * p * (1 - p)), rel=1e-9)


def test_t_quantile_symmetry_median_and_normal_limit() -> None:
    assert t_quantile(0.5, 3) == 0.0
    for df in (1, 2.5, 7, 40):
        assert t_quantile(0.1, df) == -t_quantile(0.9, df)
        assert t_quantile(0.3, df) < t_quantile(0.31, df)
    assert t_quantile(0.975, 10**6) == pytest.approx(1.959963984540054, rel=1e-5)


def test_t_quantile_against_scipy() -> None:
    stats = pytest.importorskip("scipy.stats")
    for df in (1, 2, 3, 6, 15, 50, 1000, 0.7, 3.5):
        for p in (0.001, 0.2, 0.55, 0.7, 0.9, 0.975, 0.995, 0.99999):
            assert t_quantile(p, df) == pytest.approx(float(stats.t.ppf(p, df)), rel=1e-8)


def test_t_quantile_rejects_bad_arguments() -> None:
    for p in (0.0, 1.0, -0.1, math.nan):
        with pytest.raises(ValueError, match=r"^t_quantile: p must be in \(0, 1\)"):
            t_quantile(p, 3)
    for df in (0.0, -1.0, math.inf):
        with pytest.raises(ValueError, match="^t_quantile: df must be a finite number > 0"):
            t_quantile(0.9, df)


def test_mean_interval_by_hand() -> None:
    values = [0.80, 0.85, 0.90]
    mean, std, low, high = mean_interval(values, 0.95)
    assert mean == pytest.approx(0.85)
    assert std == pytest.approx(0.05)  # sqrt((0.05^2 + 0 + 0.05^2) / 2)
    half = 4.302652730 * 0.05 / math.sqrt(3)
    assert (low, high) == (pytest.approx(0.85 - half), pytest.approx(0.85 + half))
    mean, std, low, high = mean_interval([0.7], 0.95)
    assert mean == 0.7 and math.isnan(std) and math.isnan(low) and math.isnan(high)
