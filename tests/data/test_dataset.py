from __future__ import annotations

import pytest
import torch

from mmcontrast.data import MultimodalDataset, Split, Standardizer


def _imu_only(count: int = 6) -> MultimodalDataset:
    g = torch.Generator().manual_seed(1)
    return MultimodalDataset(
        modalities={"inertial": torch.randn(count, 8, 6, generator=g) * 50 + 3},
        label=torch.arange(count) % 2,
        subject=torch.arange(count) // 2,
        masks={"inertial": torch.arange(8)[None] < (torch.arange(count)[:, None] % 8 + 1)},
    )


def test_inertial_only_items_collate_and_split() -> None:
    data = _imu_only()
    assert set(data[0]) == {"inertial", "inertial_mask", "label", "subject", "trial"}
    assert data[0]["trial"] == 0 and data.trial.dtype == torch.long
    batch = next(iter(torch.utils.data.DataLoader(data, batch_size=3)))
    assert batch["inertial"].shape == (3, 8, 6) and batch["inertial_mask"].shape == (3, 8)
    assert "skeleton" not in batch and not hasattr(data, "skeleton")
    with pytest.raises(AttributeError, match="has no 'skeleton' modality; it holds 'inertial'"):
        data.skeleton  # noqa: B018
    with pytest.raises(AttributeError, match="has no 'skeleton' modality"):
        data.skeleton_mask  # noqa: B018
    split = Split(train=[0, 1, 2, 3], val=[], test=[4, 5])
    train, val, test = data.split(split)
    assert type(train) is MultimodalDataset and len(val) == 0
    mean, std = data.subset(split.train).inertial_statistics()
    torch.testing.assert_close(test.inertial_mean, mean)
    mask = data.inertial_mask[split.test]
    expected = torch.where(mask[..., None], (data.inertial[split.test] - mean) / std, 0.0)
    torch.testing.assert_close(test.inertial, expected)
    assert repr(train) == (
        "MultimodalDataset(sequences=4, inertial=(8, 6), classes=2, subjects=[0, 1], "
        "standardized=['inertial'])"
    )
    raw = data.split(split, normalize_inertial=False)
    assert not raw.train.normalized and raw.train.inertial_mean is None


def test_skeleton_only_and_other_modalities_standardise_on_request() -> None:
    g = torch.Generator().manual_seed(2)
    skeleton = torch.randn(6, 5, 20, 3, generator=g) * 4 + 1
    data = MultimodalDataset(
        modalities={"skeleton": skeleton, "depth": torch.rand(6, 5, 4, 4, generator=g)},
        label=torch.zeros(6, dtype=torch.long), subject=torch.arange(6),
    )  # fmt: skip
    assert set(data[2]) == {
        "skeleton", "depth", "skeleton_mask", "depth_mask", "label", "subject", "trial"
    }  # fmt: skip
    split = Split(train=[0, 1, 2], val=[3], test=[4, 5])
    plain = data.split(split)  # no inertial modality: nothing to normalise by default
    assert dict(plain.train.standardizers) == {} and not plain.train.normalized
    train, val, test = data.split(split, standardize=("skeleton",))
    assert list(test.standardizers) == ["skeleton"]
    assert test.standardizers["skeleton"].channel_shape == (3,)  # pooled over joints
    fitted = data.subset(split.train).fit_standardizer("skeleton")
    torch.testing.assert_close(test.skeleton, fitted(data.skeleton[split.test]))
    torch.testing.assert_close(test.modalities["depth"], data.modalities["depth"][split.test])
    per_joint = data.fit_standardizer("skeleton", channel_dims=2)
    assert data.standardize("skeleton", per_joint).standardizers["skeleton"] is per_joint
    with pytest.raises(ValueError, match="the skeleton channels are already standardised"):
        train.standardize("skeleton", fitted)
    with pytest.raises(
        ValueError, match="has no 'inertial' modality; it holds 'skeleton', 'depth'"
    ):
        data.split(split, standardize=("inertial",))
    with pytest.raises(TypeError, match="standardize must be a sequence of modality names"):
        data.split(split, standardize="skeleton")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"channel shape \(6,\) does not fit skeleton"):
        data.standardize("skeleton", Standardizer(torch.zeros(6), torch.ones(6)))
    with pytest.raises(TypeError, match="standardizer must be a Standardizer, got tuple"):
        data.standardize("skeleton", (0, 1))  # type: ignore[arg-type]


def test_multimodal_validation_messages() -> None:
    x = torch.zeros(4, 5, 6)
    base = dict(label=torch.zeros(4, dtype=torch.long), subject=torch.ones(4, dtype=torch.long))
    with pytest.raises(ValueError, match="modalities must hold at least one modality"):
        MultimodalDataset(modalities={}, **base)
    with pytest.raises(TypeError, match="modalities must be a mapping"):
        MultimodalDataset(modalities=[x], **base)  # type: ignore[arg-type]
    for name in ("label", "inertial_mask", "not an identifier", 3):
        with pytest.raises(ValueError, match="modality names must be Python identifiers"):
            MultimodalDataset(modalities={name: x}, **base)  # type: ignore[dict-item]
    with pytest.raises(ValueError, match=r'skeleton must have shape "n t j c"'):
        MultimodalDataset(modalities={"skeleton": x}, **base)
    with pytest.raises(ValueError, match=r"modalities\['depth'\] must have shape \"n t ...\""):
        MultimodalDataset(modalities={"depth": torch.zeros(4, 5)}, **base)
    with pytest.raises(TypeError, match=r"modalities\['depth'\] must be a floating-point"):
        MultimodalDataset(modalities={"depth": torch.zeros(4, 5, 2, dtype=torch.long)}, **base)
    with pytest.raises(
        ValueError, match=r"the same number of sequences, got inertial: \(4, 5, 6\), depth"
    ):
        MultimodalDataset(modalities={"inertial": x, "depth": torch.zeros(3, 5, 2)}, **base)
    with pytest.raises(ValueError, match="masks has the unknown modality 'skeleton'"):
        MultimodalDataset(
            modalities={"inertial": x}, masks={"skeleton": torch.ones(4, 5, dtype=torch.bool)},
            **base,
        )  # fmt: skip
    with pytest.raises(ValueError, match="standardizers has the unknown modality 'skeleton'"):
        MultimodalDataset(
            modalities={"inertial": x}, standardizers={"skeleton": Standardizer.fit(x)}, **base
        )
    with pytest.raises(ValueError, match=r"standardizers\['inertial'\] has the channel shape"):
        MultimodalDataset(
            modalities={"inertial": x},
            standardizers={"inertial": Standardizer(torch.zeros(5), torch.ones(5))},
            **base,
        )
    with pytest.raises(ValueError, match="extras must not reuse the standard keys, got"):
        MultimodalDataset(modalities={"inertial": x}, extras={"skeleton": base["label"]}, **base)
    with pytest.raises(ValueError, match="labels must be >= 0"):
        MultimodalDataset(
            modalities={"inertial": x}, label=-torch.ones(4).long(), subject=base["subject"]
        )
    with pytest.raises(ValueError, match="inertial statistics need at least one real step"):
        MultimodalDataset(
            modalities={"inertial": x}, masks={"inertial": torch.zeros(4, 5, dtype=torch.bool)},
            **base,
        ).inertial_statistics()  # fmt: skip
