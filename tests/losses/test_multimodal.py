from __future__ import annotations

import pytest
import torch

from mmcontrast.losses import HardNegativeLoss, InfoNCE, MultiModalLoss
from tests.helpers import compiled_matches_eager


def _embeddings() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {name: torch.randn(8, 5, generator=g) for name in ("acc", "gyro", "skeleton")}


def test_all_pairs_is_the_mean_over_pairs() -> None:
    z = _embeddings()
    inner = InfoNCE()
    want = (inner(z["acc"], z["gyro"]) + inner(z["acc"], z["skeleton"])
            + inner(z["gyro"], z["skeleton"])) / 3  # fmt: skip
    torch.testing.assert_close(MultiModalLoss(inner)(z), want)


def test_core_pairs() -> None:
    z = _embeddings()
    inner = HardNegativeLoss()
    criterion = MultiModalLoss(inner, pairs="core", core="skeleton")
    assert list(criterion.pair_losses(z)) == ["skeleton-acc", "skeleton-gyro"]
    want = (inner(z["skeleton"], z["acc"]) + inner(z["skeleton"], z["gyro"])) / 2
    torch.testing.assert_close(criterion(z), want)


def test_extras_are_forwarded() -> None:
    z = _embeddings()
    labels = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    inner = InfoNCE()
    got = MultiModalLoss(inner)(z, labels=labels)
    want = torch.stack(
        [
            inner(z[x], z[y], labels=labels)
            for x, y in (("acc", "gyro"), ("acc", "skeleton"), ("gyro", "skeleton"))
        ]
    )
    torch.testing.assert_close(got, want.mean())


def test_compile() -> None:
    z = _embeddings()
    criterion = MultiModalLoss(InfoNCE())
    compiled_matches_eager(lambda a, b, c: criterion({"a": a, "b": b, "c": c}), list(z.values()))


def test_errors() -> None:
    z = _embeddings()
    with pytest.raises(ValueError, match="core must be given exactly when pairs='core'"):
        MultiModalLoss(InfoNCE(), pairs="core")
    with pytest.raises(ValueError, match="core modality 'depth' not among"):
        MultiModalLoss(InfoNCE(), pairs="core", core="depth")(z)
    with pytest.raises(ValueError, match="needs at least 2 modalities"):
        MultiModalLoss(InfoNCE())({"acc": z["acc"]})
    with pytest.raises(ValueError, match="same batch size.*'gyro': \\(7, 5\\)"):
        MultiModalLoss(InfoNCE())({"acc": z["acc"], "gyro": z["gyro"][:7]})
    with pytest.raises(TypeError, match=r"embeddings\['gyro'\] must be a torch.Tensor, got list"):
        MultiModalLoss(InfoNCE())({"acc": z["acc"], "gyro": [1, 2]})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="pair a='acc', b='gyro': InfoNCE: a and b must have"):
        MultiModalLoss(InfoNCE())({"acc": z["acc"], "gyro": torch.randn(8, 3)})
    with pytest.raises(TypeError, match="loss must be an nn.Module"):
        MultiModalLoss(lambda a, b: a.sum())  # type: ignore[arg-type]
