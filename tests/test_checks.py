from __future__ import annotations

import traceback

import pytest
import torch

from mmcontrast._checks import check_int, check_probability, check_tensor, checking


def test_check_int() -> None:
    assert check_int("n", 3, minimum=1) == 3
    with pytest.raises(TypeError, match="^n must be an int, got bool"):
        check_int("n", True)
    with pytest.raises(ValueError, match="^n must be >= 1, got 0"):
        check_int("n", 0, minimum=1)


def test_check_probability() -> None:
    assert check_probability("p", 1) == 1.0
    with pytest.raises(ValueError, match=r"^p must be in \[0, 1\], got 1.5"):
        check_probability("p", 1.5)


def test_check_tensor() -> None:
    x = torch.zeros(2, 5, 6)
    assert check_tensor("x", x, pattern="b t c", sizes={"c": 6}) is x
    with pytest.raises(
        ValueError, match=r'^x must have shape "b t c" \(3 dimensions\), got \(5, 6\)'
    ):
        check_tensor("x", x[0], pattern="b t c")
    with pytest.raises(ValueError, match=r'"b t c" with c=3, got \(2, 5, 6\)'):
        check_tensor("x", x, pattern="b t c", sizes={"c": 3})
    with pytest.raises(TypeError, match="floating-point"):
        check_tensor("x", x.long(), pattern="b t c")
    with pytest.raises(TypeError, match="must be a torch.Tensor, got list"):
        check_tensor("x", [1], pattern="b")


def test_checking_names_the_error_once_and_keeps_it() -> None:
    with pytest.raises(ValueError, match=r"^Owner: n must be >= 1, got 0$") as info:
        with checking("Owner"):
            check_int("n", 0, minimum=1)
    assert info.value.__traceback__ is not None
    frames = [frame.f_code.co_name for frame, _ in traceback.walk_tb(info.value.__traceback__)]
    assert "check_int" in frames  # the same exception object: the raise site is kept


def test_checking_keeps_the_innermost_name() -> None:
    with pytest.raises(TypeError, match=r"^Inner: n must be an int, got str$"):
        with checking("Outer"), checking("Inner"):
            check_int("n", "3")
    with pytest.raises(ValueError, match=r"^Owner: done by hand$"):
        with checking("Owner"):
            raise ValueError("Owner: done by hand")  # an existing prefix is not doubled


def test_checking_leaves_other_errors_alone() -> None:
    class Custom(ValueError):
        pass

    with pytest.raises(Custom, match=r"^plain$"), checking("Owner"):
        raise Custom("plain")  # a subclass may carry its own arguments: left as raised
    with pytest.raises(RuntimeError, match=r"^boom$"), checking("Owner"):
        raise RuntimeError("boom")
    with pytest.raises(ValueError) as info, checking("Owner"):
        raise ValueError("two", "args")
    assert info.value.args == ("two", "args")


def test_checking_traces_under_compile() -> None:
    def f(x: torch.Tensor) -> torch.Tensor:
        with checking("f"):
            x = check_tensor("x", x, pattern="b d")
        return x.sin()

    x = torch.randn(3, 4)
    torch.testing.assert_close(torch.compile(f, fullgraph=True)(x), x.sin())
