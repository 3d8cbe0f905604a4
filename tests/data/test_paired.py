from __future__ import annotations

import pytest
import torch

from mmcontrast.data import MultimodalDataset, PairedDataset, Split


def _dataset(count: int = 6, steps: int = 5, *, masked: bool = False) -> PairedDataset:
    g = torch.Generator().manual_seed(0)
    inertial = torch.randn(count, steps, 6, generator=g) * torch.tensor([1.0, 2, 3, 100, 200, 300])
    mask = None
    if masked:
        lengths = torch.arange(count) % steps + 1
        mask = torch.arange(steps)[None] < lengths[:, None]
        inertial = inertial * mask[..., None]
    return PairedDataset(
        inertial=inertial,
        skeleton=torch.randn(count, 4, 20, 3, generator=g),
        label=torch.arange(count) % 3,
        subject=torch.arange(count) % 2 + 1,
        trial=torch.ones(count, dtype=torch.int32),
        inertial_mask=mask,
        classes=("a", "b", "c"),
        extras={"session": torch.arange(count)},
    )


def test_items_and_collate() -> None:
    data = _dataset()
    item = data[-1]
    assert set(item) == {
        "inertial", "skeleton", "inertial_mask", "skeleton_mask", "label", "subject", "trial",
        "session",
    }  # fmt: skip
    assert item["inertial"].shape == (5, 6) and item["skeleton"].shape == (4, 20, 3)
    assert item["label"].dtype == torch.long and item["label"].ndim == 0
    assert item["trial"].dtype == torch.long
    assert bool(item["skeleton_mask"].all())
    batch = next(iter(torch.utils.data.DataLoader(data, batch_size=4)))
    assert batch["inertial"].shape == (4, 5, 6) and batch["label"].shape == (4,)
    assert len(data) == 6 and data.num_classes == 3 and not data.normalized
    assert data.names[0] == "#0"
    assert repr(data) == (
        "PairedDataset(sequences=6, inertial=(5, 6), skeleton=(4, 20, 3), classes=3, "
        "subjects=[1, 2], normalized=False)"
    )
    with pytest.raises(IndexError, match="index 6 is out of range for 6 sequences"):
        data[6]
    with pytest.raises(TypeError, match="index must be an int, got slice"):
        data[1:3]  # type: ignore[index]


def test_validation_messages() -> None:
    base = _dataset()
    fields = dict(
        inertial=base.inertial, skeleton=base.skeleton, label=base.label,
        subject=base.subject, trial=base.trial,
    )  # fmt: skip
    with pytest.raises(
        ValueError, match=r"the same number of sequences, got inertial: \(6, 5, 6\)"
    ):
        PairedDataset(**{**fields, "skeleton": base.skeleton[:5]})
    with pytest.raises(TypeError, match="label must have an integer dtype"):
        PairedDataset(**{**fields, "label": base.label.bool()})
    with pytest.raises(TypeError, match="trial must have an integer dtype, got torch.float32"):
        PairedDataset(**{**fields, "trial": base.trial.float()})
    with pytest.raises(ValueError, match=r'subject must have shape "n" = \(6,\), got \(5,\)'):
        PairedDataset(**{**fields, "subject": base.subject[:5]})
    with pytest.raises(ValueError, match=r"labels must be in \[0, 2\) for 2 classes"):
        PairedDataset(**fields, classes=("a", "b"))
    with pytest.raises(ValueError, match=r'inertial_mask must have shape "b t" = \(6, 5\)'):
        PairedDataset(**fields, inertial_mask=torch.ones(6, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="extras must not reuse the standard keys"):
        PairedDataset(**fields, extras={"label": base.label})
    with pytest.raises(ValueError, match="give both inertial_mean and inertial_std"):
        PairedDataset(**fields, inertial_mean=torch.zeros(6))
    with pytest.raises(ValueError, match=r'inertial must have shape "n t c"'):
        PairedDataset(**{**fields, "inertial": base.inertial[0]})


def test_subset_keeps_order_names_and_extras() -> None:
    data = _dataset()
    part = data.subset([4, 1])
    assert part.names == ("#4", "#1")
    torch.testing.assert_close(part.inertial, data.inertial[[4, 1]])
    assert part.extras["session"].tolist() == [4, 1]
    assert part.classes == data.classes
    assert len(data.subset([])) == 0
    with pytest.raises(IndexError, match=r"subset indices must be in \[-6, 6\)"):
        data.subset([0, 6])


def test_masked_statistics_ignore_padding() -> None:
    data = _dataset(masked=True)
    mean, std = data.inertial_statistics()
    real = data.inertial[data.inertial_mask].double()
    torch.testing.assert_close(mean, real.mean(0).float())
    torch.testing.assert_close(std, real.std(0, unbiased=False).float())
    constant = PairedDataset(
        inertial=torch.ones(2, 3, 6), skeleton=torch.zeros(2, 3, 20, 3),
        label=torch.zeros(2, dtype=torch.long), subject=torch.ones(2, dtype=torch.long),
        trial=torch.ones(2, dtype=torch.long),
    )  # fmt: skip
    assert constant.inertial_statistics()[1].tolist() == [1.0] * 6
    with pytest.raises(ValueError, match="at least one real step"):
        data.subset([]).inertial_statistics()


def test_normalize_keeps_padding_at_zero_and_refuses_twice() -> None:
    data = _dataset(masked=True)
    mean, std = data.inertial_statistics()
    normed = data.normalize_inertial(mean, std)
    assert normed.normalized
    assert bool((normed.inertial[~data.inertial_mask] == 0).all())
    real = normed.inertial[data.inertial_mask].double()
    torch.testing.assert_close(real.mean(0), torch.zeros(6).double(), atol=1e-5, rtol=0)
    torch.testing.assert_close(
        real.std(0, unbiased=False), torch.ones(6).double(), atol=1e-5, rtol=0
    )
    with pytest.raises(ValueError, match="already normalised"):
        normed.normalize_inertial(mean, std)
    with pytest.raises(ValueError, match="std must be positive"):
        data.normalize_inertial(mean, torch.zeros(6))
    with pytest.raises(ValueError, match=r'mean must have shape "c" with c=6'):
        data.normalize_inertial(mean[:3], std)


def test_split_normalises_every_side_with_training_statistics_only() -> None:
    data = _dataset(count=9)
    split = Split(train=[0, 2, 4, 6], val=[8], test=[1, 3, 5, 7])
    train, val, test = data.split(split)
    mean, std = data.subset(split.train).inertial_statistics()
    for side, index in ((train, split.train), (val, split.val), (test, split.test)):
        torch.testing.assert_close(side.inertial_mean, mean)
        torch.testing.assert_close(side.inertial_std, std)
        torch.testing.assert_close(side.inertial, (data.inertial[index] - mean) / std)
    assert not torch.allclose(test.inertial.mean((0, 1)), torch.zeros(6), atol=1e-3)
    raw = data.split(split, normalize_inertial=False)
    torch.testing.assert_close(raw.test.inertial, data.inertial[split.test])
    assert raw.train.inertial_mean is None
    with pytest.raises(IndexError, match="the split indexes sequence 9, but the dataset has 9"):
        data.split(Split(train=[0], val=[], test=[9]))
    with pytest.raises(TypeError, match="split must be a Split"):
        data.split((split.train, split.val, split.test))  # type: ignore[arg-type]


def _reference_split_normalisation(
    data: PairedDataset, split: Split
) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """The inertial normalisation of `PairedDataset.split` before the Standardizer (0.x)."""
    train = split.train
    values = data.inertial[train].double()[data.inertial_mask[train]]
    mean = values.mean(dim=0)
    std = values.std(dim=0, unbiased=False)
    mean, std = mean.to(data.inertial.dtype), std.to(data.inertial.dtype)
    sides = []
    for index in split:
        inertial, mask = data.inertial[index], data.inertial_mask[index]
        scaled = (inertial - mean) / std
        sides.append((torch.where(mask[..., None], scaled, torch.zeros_like(scaled)), mean, std))
    return sides


def test_split_gives_the_same_numbers_as_before_the_standardizer() -> None:
    data = _dataset(count=9, steps=7, masked=True)
    split = Split(train=[0, 2, 4, 6], val=[8], test=[1, 3, 5, 7])
    for side, (inertial, mean, std) in zip(
        data.split(split), _reference_split_normalisation(data, split), strict=True
    ):
        torch.testing.assert_close(side.inertial, inertial, rtol=0, atol=0)
        torch.testing.assert_close(side.inertial_mean, mean, rtol=0, atol=0)
        torch.testing.assert_close(side.inertial_std, std, rtol=0, atol=0)
        torch.testing.assert_close(side.skeleton, data.skeleton[side.extras["session"]])
        assert side.standardizers["inertial"].mean is side.inertial_mean


def test_paired_dataset_keeps_its_type_through_subset_split_and_normalize() -> None:
    data = _dataset()
    assert isinstance(data.subset([0]), PairedDataset)
    assert all(type(side) is PairedDataset for side in data.split(Split([0, 2], [], [1, 3])))
    assert type(data.normalize_inertial(*data.inertial_statistics())) is PairedDataset
    assert set(data.modalities) == {"inertial", "skeleton"} and set(data.masks) == {
        "inertial", "skeleton"
    }  # fmt: skip
    restored = PairedDataset(
        inertial=data.inertial, skeleton=data.skeleton, label=data.label,
        subject=data.subject, trial=data.trial, inertial_mean=torch.zeros(6),
        inertial_std=torch.ones(6),
    )  # fmt: skip
    assert restored.normalized and restored.standardizers["inertial"].channel_shape == (6,)
    with pytest.raises(TypeError, match=r"skeleton must be a torch.Tensor, got NoneType; .*"):
        PairedDataset(
            inertial=data.inertial, skeleton=None,  # type: ignore[arg-type]
            label=data.label, subject=data.subject, trial=data.trial,
        )  # fmt: skip
    with pytest.raises(TypeError, match=r"MultimodalDataset\(modalities=\{'skeleton': ...\}"):
        PairedDataset(
            inertial=None, skeleton=data.skeleton,  # type: ignore[arg-type]
            label=data.label, subject=data.subject, trial=data.trial,
        )  # fmt: skip


def test_select_keeps_metadata_and_statistics() -> None:
    data = _dataset(masked=True)
    train = data.split(Split([0, 1, 2], [], [3, 4, 5])).train
    imu = train.select("inertial")
    assert type(imu) is MultimodalDataset and list(imu.modalities) == ["inertial"]
    assert imu.standardizers["inertial"] is train.standardizers["inertial"]
    assert imu.names == train.names and imu.extras["session"].tolist() == [0, 1, 2]
    assert torch.equal(imu.inertial_mask, train.inertial_mask)
    both = data.select(["skeleton", "inertial"])
    assert list(both.modalities) == ["skeleton", "inertial"]
    with pytest.raises(ValueError, match="select needs at least one modality"):
        data.select([])
    with pytest.raises(ValueError, match="has no 'depth' modality"):
        data.select("depth")
