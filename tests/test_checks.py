from __future__ import annotations

import pytest
import torch

from mmcontrast._checks import check_int, check_probability, check_tensor


def test_check_int() -> None:
    assert check_int("Owner", "n", 3, minimum=1) == 3
    with pytest.raises(TypeError, match="^Owner: n must be an int, got bool"):
        check_int("Owner", "n", True)
    with pytest.raises(ValueError, match="^Owner: n must be >= 1, got 0"):
        check_int("Owner", "n", 0, minimum=1)


def test_check_probability() -> None:
    assert check_probability("Owner", "p", 1) == 1.0
    with pytest.raises(ValueError, match=r"^Owner: p must be in \[0, 1\], got 1.5"):
        check_probability("Owner", "p", 1.5)


def test_check_tensor() -> None:
    x = torch.zeros(2, 5, 6)
    assert check_tensor("Enc", "x", x, pattern="b t c", sizes={"c": 6}) is x
    with pytest.raises(
        ValueError, match=r'^Enc: x must have shape "b t c" \(3 dimensions\), got \(5, 6\)'
    ):
        check_tensor("Enc", "x", x[0], pattern="b t c")
    with pytest.raises(ValueError, match=r'"b t c" with c=3, got \(2, 5, 6\)'):
        check_tensor("Enc", "x", x, pattern="b t c", sizes={"c": 3})
    with pytest.raises(TypeError, match="floating-point"):
        check_tensor("Enc", "x", x.long(), pattern="b t c")
    with pytest.raises(TypeError, match="must be a torch.Tensor, got list"):
        check_tensor("Enc", "x", [1], pattern="b")
