"""Argument checks of the datasets (`MultimodalDataset`, `PairedDataset`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import cast

import torch
from torch import Tensor

from mmcontrast._checks import check_mask, check_tensor
from mmcontrast.data.standardize import Standardizer

__all__ = [
    "as_names",
    "check_classes",
    "check_extras",
    "check_masks",
    "check_modalities",
    "check_standardizers",
    "index_tensor",
    "paired_tensor",
    "statistic",
]

INDEX_KEYS = ("label", "subject", "trial")
PATTERNS = {"inertial": "n t c", "skeleton": "n t j c"}


def check_modalities(modalities: object) -> dict[str, Tensor]:
    """A non-empty mapping ``name -> "n t ..."`` float tensors sharing ``n``."""
    if not isinstance(modalities, Mapping):
        raise TypeError(
            f"modalities must be a mapping from modality name to tensor, got "
            f"{type(modalities).__name__}"
        )
    if not modalities:
        raise ValueError(
            "modalities must hold at least one modality (e.g. {'inertial': x}), got none"
        )
    checked: dict[str, Tensor] = {}
    for name, value in modalities.items():
        if (
            not isinstance(name, str)
            or not name.isidentifier()
            or name in INDEX_KEYS
            or name.endswith("_mask")
        ):
            raise ValueError(
                f"modality names must be Python identifiers other than "
                f"{', '.join(INDEX_KEYS)} and not ending in '_mask', got {name!r}"
            )
        if name in PATTERNS:
            checked[name] = check_tensor(name, value, pattern=PATTERNS[name])
            continue
        label = f"modalities[{name!r}]"
        if not isinstance(value, Tensor):
            raise TypeError(f"{label} must be a torch.Tensor, got {type(value).__name__}")
        if not value.is_floating_point():
            raise TypeError(f"{label} must be a floating-point tensor, got {value.dtype}")
        if value.ndim < 3:
            raise ValueError(
                f'{label} must have shape "n t ..." (at least 3 dimensions), got '
                f"{tuple(value.shape)}"
            )
        checked[name] = value
    counts = {name: tensor.shape[0] for name, tensor in checked.items()}
    if len(set(counts.values())) > 1:
        received = ", ".join(f"{name}: {tuple(t.shape)}" for name, t in checked.items())
        raise ValueError(f"every modality must hold the same number of sequences, got {received}")
    return checked


def paired_tensor(name: str, value: object) -> Tensor:
    """The inertial or skeleton tensor of a `PairedDataset`, with a hint when it is absent."""
    if value is None:
        other = "skeleton" if name == "inertial" else "inertial"
        raise TypeError(
            f"{name} must be a torch.Tensor, got NoneType; for data without a "
            f"{name} use MultimodalDataset(modalities={{{other!r}: ...}}, ...)"
        )
    return check_tensor(name, value, pattern=PATTERNS[name])


def index_tensor(name: str, value: object, count: int) -> Tensor:
    """An integer ``"n"`` tensor of length ``count``, as int64."""
    tensor = check_tensor(name, value, pattern="n", floating=False)
    if tensor.is_floating_point() or tensor.is_complex() or tensor.dtype == torch.bool:
        raise TypeError(f"{name} must have an integer dtype, got {tensor.dtype}")
    if tensor.shape[0] != count:
        raise ValueError(f'{name} must have shape "n" = ({count},), got {tuple(tensor.shape)}')
    return tensor.long()


def check_masks(
    masks: Mapping[str, Tensor] | None, modalities: Mapping[str, Tensor]
) -> dict[str, Tensor]:
    """One ``"n t"`` bool mask per modality; all ``True`` where none is given."""
    if masks is not None and not isinstance(masks, Mapping):
        raise TypeError(
            f"masks must be a mapping from modality name to a bool tensor, got "
            f"{type(masks).__name__}"
        )
    given = dict(masks or {})
    unknown = sorted(set(given) - set(modalities))
    if unknown:
        raise ValueError(
            f"masks has the unknown modality {unknown[0]!r}; the dataset holds "
            f"{', '.join(repr(name) for name in modalities)}"
        )
    checked: dict[str, Tensor] = {}
    for name, data in modalities.items():
        expected = tuple(data.shape[:2])
        value = given.get(name)
        if value is None:
            checked[name] = torch.ones(expected, dtype=torch.bool)
            continue
        checked[name] = cast(Tensor, check_mask(value, data, name=f"{name}_mask", like=name))
    return checked


def check_extras(
    extras: Mapping[str, Tensor] | None, modalities: Mapping[str, Tensor], count: int
) -> dict[str, Tensor]:
    """More integer ``"n"`` tensors whose keys do not clash with the item's standard keys."""
    checked = {key: index_tensor(key, value, count) for key, value in (extras or {}).items()}
    names = {*modalities, *PATTERNS}
    reserved = {*INDEX_KEYS, *names, *(f"{name}_mask" for name in names)}
    clashes = sorted(set(checked) & reserved)
    if clashes:
        raise ValueError(f"extras must not reuse the standard keys, got {clashes}")
    return checked


def as_names(names: Sequence[str] | None, count: int) -> tuple[str, ...]:
    """``count`` sequence names, ``"#0"``, ``"#1"``, ... by default."""
    if names is None:
        return tuple(f"#{i}" for i in range(count))
    result = tuple(names)
    if len(result) != count or not all(isinstance(name, str) for name in result):
        raise ValueError(f"names must be {count} strings, got {len(result)} entries")
    return result


def check_classes(classes: Sequence[str] | None, label: Tensor) -> tuple[str, ...]:
    """Class names covering every label (``"0"``, ``"1"``, ... by default)."""
    top = int(label.max()) if label.numel() else -1
    low = int(label.min()) if label.numel() else 0
    if classes is None:
        if low < 0:
            raise ValueError(f"labels must be >= 0 (0-based classes), got {low}")
        return tuple(str(i) for i in range(top + 1))
    result = tuple(classes)
    if not all(isinstance(name, str) for name in result):
        raise TypeError(f"classes must be strings, got {result!r}")
    if low < 0 or top >= len(result):
        raise ValueError(
            f"labels must be in [0, {len(result)}) for {len(result)} classes, got "
            f"the range [{low}, {top}]"
        )
    return result


def check_standardizers(
    standardizers: Mapping[str, Standardizer] | None, modalities: Mapping[str, Tensor]
) -> dict[str, Standardizer]:
    """Standardizers of known modalities whose channel shape ends the modality's shape."""
    checked: dict[str, Standardizer] = {}
    for name, scaler in (standardizers or {}).items():
        if name not in modalities:
            raise ValueError(
                f"standardizers has the unknown modality {name!r}; the dataset holds "
                f"{', '.join(repr(m) for m in modalities)}"
            )
        if not isinstance(scaler, Standardizer):
            raise TypeError(
                f"standardizers[{name!r}] must be a Standardizer, got {type(scaler).__name__}"
            )
        shape, data = scaler.channel_shape, modalities[name]
        if data.ndim - len(shape) < 2 or tuple(data.shape[data.ndim - len(shape) :]) != shape:
            raise ValueError(
                f"standardizers[{name!r}] has the channel shape {shape}, which does "
                f"not fit {name} {tuple(data.shape)}"
            )
        checked[name] = scaler
    return checked


def statistic(name: str, value: object, channels: int) -> Tensor:
    """A ``"c"`` float statistic of ``channels`` entries."""
    return check_tensor(name, value, pattern="c", sizes={"c": channels})
