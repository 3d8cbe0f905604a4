from __future__ import annotations

import pytest
import torch

from mmcontrast.losses import InfoNCE
from mmcontrast.losses.functional import info_nce
from tests.helpers import assert_roundtrip, compiled_matches_eager


def _inputs() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.randn(12, 6, generator=g), torch.randn(12, 6, generator=g)


@pytest.mark.parametrize("negatives", ["cross", "all"])
def test_module_equals_functional(negatives: str) -> None:
    a, b = _inputs()
    module = InfoNCE(temperature=0.07, negatives=negatives, reduction="sum")
    torch.testing.assert_close(
        module(a, b), info_nce(a, b, temperature=0.07, negatives=negatives, reduction="sum")
    )


def test_never_clamps() -> None:
    a = torch.randn(8, 4)
    terms = InfoNCE(temperature=0.01).terms(a, a)
    assert not terms.clamped.any()


def test_repr_hides_fixed_hyperparameters() -> None:
    assert repr(InfoNCE(symmetric=False)) == (
        "InfoNCE(temperature=0.1, negatives='cross', symmetric=False, reduction='mean', "
        "label_mode='exclude', chunk_size=None, gather_distributed=False)"
    )


def test_roundtrip() -> None:
    assert_roundtrip(
        InfoNCE(temperature=0.2, reduction="none"),
        lambda: InfoNCE(temperature=0.2, reduction="none"),
        list(_inputs()),
    )


@pytest.mark.compile
def test_compiles_without_graph_breaks() -> None:
    compiled_matches_eager(InfoNCE(negatives="all"), list(_inputs()))


def test_bad_hyperparameters() -> None:
    with pytest.raises(ValueError, match="^InfoNCE: temperature"):
        InfoNCE(temperature=-0.1)
    with pytest.raises(TypeError, match="^InfoNCE: symmetric must be a bool"):
        InfoNCE(symmetric=None)  # type: ignore[arg-type]
