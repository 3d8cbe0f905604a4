"""Argument and input validation shared by every subpackage (one message style everywhere).

Messages follow ``"<Owner>: <argument> must be <constraint>, got <value>"``; shape errors give
the expected einops pattern and the received shapes. ``TypeError`` for a wrong type,
``ValueError`` for a wrong value or shape.

A public class or function checks its arguments once, at its top, inside
``with checking("<Owner>"):``; code behind it assumes checked input. The checks take no
name and write no prefix: the block adds it, once.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence

import torch
from torch import Tensor, nn

__all__ = [
    "check_alike",
    "check_bool",
    "check_choice",
    "check_chunk_size",
    "check_dropout",
    "check_finite_number",
    "check_fraction",
    "check_int",
    "check_labels",
    "check_mask",
    "check_modality_dims",
    "check_modality_features",
    "check_modality_inputs",
    "check_modality_keys",
    "check_optional_int",
    "check_present",
    "check_pair",
    "check_positive_range",
    "check_probability",
    "check_temperature",
    "check_tensor",
    "checking",
]

_NAMED = "_mmcontrast_named"  # set on an error once a `checking` block has named it


@contextlib.contextmanager
def checking(name: str) -> Iterator[None]:
    """Name the public class or function in the messages of the checks run inside the block.

    A check raises ``"p must be in [0, 1], got 2"``; under ``with checking("RandomApply"):``
    the message reads ``"RandomApply: p must be in [0, 1], got 2"``. Blocks nest: the
    innermost name is kept (a public module built inside another's block names itself).
    The exception is the same object, traceback kept; only ``TypeError`` and ``ValueError``
    (what the checks raise) are named. Traced by ``torch.compile`` at no cost when nothing
    is raised.
    """
    try:
        yield
    except (TypeError, ValueError) as error:
        message = error.args[0] if len(error.args) == 1 else None
        named = getattr(error, _NAMED, False) or str(message).startswith(f"{name}: ")
        if type(error) in (TypeError, ValueError) and message is not None and not named:
            error.args = (f"{name}: {message}",)
            setattr(error, _NAMED, True)
        raise


def check_finite_number(
    name: str,
    value: object,
    *,
    low: float,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = True,
) -> float:
    """Return ``value`` as a float after checking its type and range ``[low, high)``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    number = float(value)
    below = number <= low if low_open else number < low
    above = high is not None and (number >= high if high_open else number > high)
    if not math.isfinite(number) or below or above:
        lo = "(" if low_open else "["
        hi = ")" if high_open else "]"
        bound = f"{lo}{low:g}, {high:g}{hi}" if high is not None else f"{lo}{low:g}, inf)"
        raise ValueError(f"{name} must be in {bound}, got {value!r}")
    return number


def check_temperature(temperature: object) -> float | Tensor:
    """Accept a positive float or a 0-d floating tensor (its value is the caller's contract)."""
    if isinstance(temperature, Tensor):
        if temperature.ndim != 0 or not temperature.is_floating_point():
            raise TypeError(
                f"a tensor temperature must be a 0-d floating tensor, got shape "
                f"{tuple(temperature.shape)} and dtype {temperature.dtype}"
            )
        return temperature
    return check_finite_number("temperature", temperature, low=0.0, low_open=True)


def check_choice(name: str, value: object, choices: Sequence[str]) -> str:
    """Check that ``value`` is one of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        valid = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {valid}, got {value!r}")
    return value


def check_bool(name: str, value: object) -> bool:
    """Check that ``value`` is a bool (not merely truthy)."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}")
    return value


def check_chunk_size(chunk_size: object) -> int | None:
    """``None`` or a positive int."""
    return check_optional_int("chunk_size", chunk_size, minimum=1)


def _float_tensor(name: str, x: object) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    return x


def check_pair(a: object, b: object) -> tuple[Tensor, Tensor]:
    """Check two embedding batches ``a: "b d"`` and ``b: "b d"``."""
    a = _float_tensor("a", a)
    b = _float_tensor("b", b)
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(
            f'a and b must both have shape "b d", got a: {tuple(a.shape)} and b: {tuple(b.shape)}'
        )
    if a.shape != b.shape:
        raise ValueError(
            f"a and b must have the same shape (b, d), got a: {tuple(a.shape)} and "
            f"b: {tuple(b.shape)}"
        )
    if a.shape[0] < 2:
        raise ValueError(
            f"a contrastive loss needs a batch of at least 2 pairs, got a: "
            f"{tuple(a.shape)} and b: {tuple(b.shape)}"
        )
    if a.device != b.device:
        raise ValueError(f"a and b must be on one device, got {a.device} and {b.device}")
    return a, b


def check_labels(
    labels: object, batch: int, device: torch.device, *, name: str = "labels"
) -> Tensor | None:
    """``None`` or an integer/bool vector of length ``batch`` on ``device``."""
    if labels is None:
        return None
    if not isinstance(labels, Tensor):
        kind = type(labels).__name__
        raise TypeError(f"{name} must be a torch.Tensor or None, got {kind}")
    if labels.is_floating_point() or labels.is_complex():
        raise TypeError(f"{name} must have an integer or bool dtype, got {labels.dtype}")
    if labels.ndim != 1 or labels.shape[0] != batch:
        raise ValueError(
            f'{name} must have shape "b" = ({batch},) to match the batch, got {tuple(labels.shape)}'
        )
    if labels.device != device:
        raise ValueError(f"{name} must be on {device} like a and b, got {labels.device}")
    return labels


def check_int(name: str, value: object, *, minimum: int | None = None) -> int:
    """An int (not a bool), optionally ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def check_optional_int(name: str, value: object, *, minimum: int | None = None) -> int | None:
    """``None``, or an int (not a bool), optionally ``>= minimum``."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int or None, got {type(value).__name__}")
    return check_int(name, value, minimum=minimum)


def check_probability(name: str, value: object) -> float:
    """A real number in ``[0, 1]``."""
    return check_finite_number(name, value, low=0.0, high=1.0, high_open=False)


def check_dropout(dropout: object) -> float:
    """A dropout probability in ``[0, 1)``."""
    return check_finite_number("dropout", dropout, low=0.0, high=1.0)


def check_fraction(name: str, value: object) -> float:
    """A real number in ``(0, 1]``: a share of a window, a data set or a batch."""
    return check_finite_number(name, value, low=0.0, high=1.0, low_open=True, high_open=False)


def check_positive_range(
    name: str, value: tuple[float, float], *, high: float | None = None
) -> tuple[float, float]:
    """A pair ``(low, high)`` with ``0 < low <= high`` (each ``<= high`` when it is given)."""
    low, top = (
        check_finite_number(f"{name}[{i}]", v, low=0.0, high=high, low_open=True, high_open=False)
        for i, v in enumerate(value)
    )
    if low > top:
        raise ValueError(f"{name} must be (low, high) with low <= high, got {value}")
    return low, top


def check_tensor(
    name: str,
    x: object,
    *,
    pattern: str,
    floating: bool = True,
    sizes: dict[str, int] | None = None,
) -> Tensor:
    """A tensor whose dimensions match the einops ``pattern`` (e.g. ``"b t c"``).

    A trailing ``...`` accepts any number of further axes (``"b t ..."``). ``sizes`` pins named
    axes (``{"c": 6}``); the message echoes the expected pattern, the pinned sizes and the
    received shape.
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if floating and not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    axes = pattern.split()
    open_ended = axes[-1] == "..."
    rank = len(axes) - open_ended
    if x.ndim < rank if open_ended else x.ndim != rank:
        count = f"at least {rank}" if open_ended else f"{rank}"
        raise ValueError(
            f'{name} must have shape "{pattern}" ({count} dimensions), got {tuple(x.shape)}'
        )
    for axis, size in (sizes or {}).items():
        got = x.shape[axes.index(axis)]
        if got != size:
            pinned = ", ".join(f"{key}={value}" for key, value in (sizes or {}).items())
            raise ValueError(
                f'{name} must have shape "{pattern}" with {pinned}, got {tuple(x.shape)}'
            )
    return x


def check_modality_dims(name: str, dims: object) -> dict[str, int]:
    """A non-empty mapping ``modality -> feature size``; names must be usable as module keys.

    A name must be a Python identifier that does not shadow an ``nn.ModuleDict`` attribute
    (``"keys"``, ``"training"``...), so that every per-modality submodule can be registered.
    """
    if not isinstance(dims, Mapping):
        raise TypeError(
            f"{name} must be a mapping from modality name to feature size, got "
            f"{type(dims).__name__}"
        )
    if len(dims) == 0:
        raise ValueError(f"{name} must name at least one modality, got {dict(dims)!r}")
    checked: dict[str, int] = {}
    for modality, size in dims.items():
        if (
            not isinstance(modality, str)
            or not modality.isidentifier()
            or hasattr(nn.ModuleDict(), modality)
        ):
            raise ValueError(
                f"modality names in {name} must be Python identifiers that are not "
                f"nn.ModuleDict attributes, got {modality!r}"
            )
        checked[modality] = check_int(f"{name}[{modality!r}]", size, minimum=1)
    return checked


def check_modality_keys(
    name: str, mapping: object, modalities: Iterable[str]
) -> Mapping[str, object]:
    """``mapping``, checked to be a mapping whose keys are exactly ``modalities`` (any order).

    Messages name the unknown or missing modality and list the expected ones.
    """
    if not isinstance(mapping, Mapping):
        raise TypeError(
            f"{name} must be a mapping from modality name to tensor, got {type(mapping).__name__}"
        )
    expected_keys = list(modalities)
    expected = ", ".join(repr(m) for m in expected_keys)
    for modality in mapping:
        if modality not in expected_keys:
            raise ValueError(
                f"{name} has the unknown modality {modality!r}; expected the modalities {expected}"
            )
    for modality in expected_keys:
        if modality not in mapping:
            raise ValueError(
                f"{name} is missing the modality {modality!r}; expected the modalities {expected}"
            )
    return mapping


def check_modality_features(name: str, features: object, dims: Mapping[str, int]) -> list[Tensor]:
    """Per-modality features ``"b d"`` or ``"b t d"``, returned in the order of ``dims``.

    The keys of ``features`` must be exactly the modalities of ``dims`` (in any order); each
    value's last axis must equal its modality's size; every modality must share the batch
    size, the dtype and the device. Messages name the offending modality.
    """
    features = check_modality_keys(name, features, dims)
    tensors: list[Tensor] = []
    for modality, size in dims.items():
        x = features[modality]
        label = f"{name}[{modality!r}]"
        if not isinstance(x, Tensor):
            raise TypeError(f"{label} must be a torch.Tensor, got {type(x).__name__}")
        if not x.is_floating_point():
            raise TypeError(f"{label} must be a floating-point tensor, got {x.dtype}")
        if x.ndim not in (2, 3) or x.shape[-1] != size:
            raise ValueError(
                f'{label} must have shape "b d" or "b t d" with d={size}, got {tuple(x.shape)}'
            )
        tensors.append(x)
    first, reference = tensors[0], next(iter(dims))
    for modality, x in zip(dims, tensors, strict=True):
        if x.shape[0] != first.shape[0]:
            received = ", ".join(
                f"{m}: {tuple(t.shape)}" for m, t in zip(dims, tensors, strict=True)
            )
            raise ValueError(
                f"every modality in {name} must have the same batch size; "
                f"{modality!r} differs from {reference!r}, got {received}"
            )
    check_alike(f"modality in {name}", {repr(m): x for m, x in zip(dims, tensors, strict=True)})
    return tensors


def check_alike(what: str, tensors: Mapping[str, Tensor]) -> None:
    """Every tensor of ``tensors`` has the dtype and the device of the first one.

    Messages read ``"every <what> must have the same dtype; <key> is ... and <first key> is ..."``.
    """
    reference, first = next(iter(tensors.items()))
    for name, x in tensors.items():
        if x.dtype != first.dtype:
            raise TypeError(
                f"every {what} must have the same dtype; {name} is {x.dtype} and "
                f"{reference} is {first.dtype}"
            )
        if x.device != first.device:
            raise ValueError(
                f"every {what} must be on one device; {name} is on {x.device} and "
                f"{reference} on {first.device}"
            )


def check_present(
    present: object,
    modalities: Sequence[str],
    *,
    batch: int,
    device: torch.device,
) -> Tensor | None:
    """``None``, or a mapping ``modality -> "b" bool``, stacked to a ``"b m"`` bool mask.

    Modalities left out of the mapping count as present for every sample; an unknown key
    raises.
    """
    if present is None:
        return None
    if not isinstance(present, Mapping):
        raise TypeError(
            f"present must be None or a mapping from modality name to a bool tensor, "
            f"got {type(present).__name__}"
        )
    expected = ", ".join(repr(m) for m in modalities)
    for modality in present:
        if modality not in modalities:
            raise ValueError(
                f"present has the unknown modality {modality!r}; expected some of {expected}"
            )
    columns = []
    for modality in modalities:
        if modality not in present:
            columns.append(torch.ones(batch, dtype=torch.bool, device=device))
            continue
        mask = present[modality]
        label = f"present[{modality!r}]"
        if not isinstance(mask, Tensor) or mask.dtype != torch.bool:
            got = mask.dtype if isinstance(mask, Tensor) else type(mask).__name__
            raise TypeError(f"{label} must be a bool tensor, got {got}")
        if mask.ndim != 1 or mask.shape[0] != batch:
            raise ValueError(
                f'{label} must have shape "b" = ({batch},) to match the features, '
                f"got {tuple(mask.shape)}"
            )
        if mask.device != device:
            raise ValueError(f"{label} must be on {device} like the features, got {mask.device}")
        columns.append(mask)
    return torch.stack(columns, dim=1)


def check_modality_inputs(
    features: object, present: object, dims: Mapping[str, int]
) -> tuple[list[Tensor], Tensor | None]:
    """A fusion module's or head's ``features`` and ``present``, checked.

    `check_modality_features` on ``features``, then `check_present` on ``present``. Returns
    the features in the order of ``dims`` and the ``"b m"`` mask (``None`` when every modality
    is present).
    """
    xs = check_modality_features("features", features, dims)
    mask = check_present(present, list(dims), batch=xs[0].shape[0], device=xs[0].device)
    return xs, mask


def check_mask(mask: object, x: Tensor, *, name: str = "mask", like: str = "x") -> Tensor | None:
    """``None`` or a ``"b t"`` bool mask (``True`` at valid steps) matching ``x: "b t ..."``.

    The one check of a padding mask, for every module and function that takes one; ``name``
    and ``like`` are how the messages call the mask and ``x``.
    """
    if mask is None:
        return None
    if not isinstance(mask, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor or None, got {type(mask).__name__}")
    if mask.dtype != torch.bool:
        raise TypeError(
            f"{name} must be a torch.bool tensor (True at valid steps), got {mask.dtype}"
        )
    expected = tuple(x.shape[:2])
    if tuple(mask.shape) != expected:
        raise ValueError(
            f'{name} must have shape "b t" = {expected} to match {like}, got {name}: '
            f"{tuple(mask.shape)} and {like}: {tuple(x.shape)}"
        )
    if mask.device != x.device:
        raise ValueError(f"{name} must be on {x.device} like {like}, got {mask.device}")
    return mask
