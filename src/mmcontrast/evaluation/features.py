"""Features of frozen encoders: eval mode, no gradients, in chunks, the modes restored."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import overload

import torch
from einops import rearrange
from torch import Tensor, nn

from mmcontrast._checks import check_int, checking

__all__ = ["extract_features"]

_OWNER = "extract_features"


@overload
def extract_features(encoder: nn.Module, inputs: Tensor, *, batch_size: int = 256) -> Tensor: ...


@overload
def extract_features(
    encoder: Mapping[str, nn.Module] | nn.ModuleDict,
    inputs: Mapping[str, Tensor],
    *,
    batch_size: int = 256,
) -> dict[str, Tensor]: ...


def extract_features(
    encoder: nn.Module | Mapping[str, nn.Module],
    inputs: Tensor | Mapping[str, Tensor],
    *,
    batch_size: int = 256,
) -> Tensor | dict[str, Tensor]:
    """Run a frozen encoder over a whole tensor of inputs, ``batch_size`` samples at a time.

    The encoder runs in eval mode (BatchNorm uses its running statistics, dropout is off)
    under `torch.no_grad`, and every submodule's previous ``training`` flag is put back
    afterwards, also when the encoder raises. `torch.no_grad` rather than
    `torch.inference_mode`, so the features are ordinary tensors that a later fit may use with
    autograd. Each chunk is moved to the device of the encoder's first parameter (or buffer;
    encoders without either get the chunk where it is), and the features come back on the
    inputs' device: inputs kept on the CPU can go through an encoder on a GPU with only
    ``batch_size`` samples there at a time. The chunk outputs are concatenated as returned
    (dtype unchanged). An output with more than two axes, such as the ``"b n d"`` tokens of a
    sequence encoder, is flattened to ``"b (n d)"``; pool first if you want ``"b d"``.

    Two calling forms:

    * one encoder and one tensor of inputs, returning one tensor of features;
    * a mapping ``modality -> encoder`` (a `dict` or an `nn.ModuleDict`) and a mapping
      ``modality -> inputs``, returning a `dict` ``modality -> features`` with the keys of
      ``inputs`` in their order. Every modality of ``inputs`` needs an encoder; encoders
      without inputs are not run. All modalities must hold the same number of samples.

    Args:
        encoder: the encoder, or a mapping from modality name to encoder.
        inputs: ``"b ..."`` inputs (any trailing axes the encoder takes), or a mapping from
            modality name to such a tensor.
        batch_size: samples per forward pass, ``>= 1``.

    Returns:
        The features, ``"b d"``, or a `dict` of them per modality.

    Shapes:
        inputs: ``"b ..."`` (e.g. ``"b t c"`` for inertial, ``"b t j c"`` for skeleton);
        output: ``"b d"`` (``"b ..."`` flattened after the first axis).

    Examples:
        >>> import torch
        >>> from torch import nn
        >>> from mmcontrast.evaluation import extract_features
        >>> encoder = nn.Sequential(nn.Flatten(), nn.Linear(50 * 6, 32), nn.BatchNorm1d(32))
        >>> x = torch.randn(1000, 50, 6)  # "b t c"
        >>> extract_features(encoder, x, batch_size=256).shape
        torch.Size([1000, 32])
        >>> encoder.training  # the mode it had before
        True
        >>> encoders = {"inertial": encoder, "skeleton": nn.Flatten()}
        >>> features = extract_features(
        ...     encoders, {"inertial": x, "skeleton": torch.randn(1000, 50, 20, 3)})
        >>> {m: tuple(f.shape) for m, f in features.items()}
        {'inertial': (1000, 32), 'skeleton': (1000, 3000)}
    """
    with checking(_OWNER):
        size = check_int("batch_size", batch_size, minimum=1)
    if isinstance(inputs, Mapping):
        if not isinstance(encoder, (Mapping, nn.ModuleDict)):
            raise TypeError(
                f"{_OWNER}: with a mapping of inputs, encoder must be a mapping from modality "
                f"name to encoder (a dict or an nn.ModuleDict), got {type(encoder).__name__}"
            )
        return _extract_modalities(encoder, inputs, size)
    if isinstance(encoder, (Mapping, nn.ModuleDict)):
        raise TypeError(
            f"{_OWNER}: with a mapping of encoders, inputs must be a mapping from modality name "
            f"to tensor, got {type(inputs).__name__}"
        )
    if not isinstance(encoder, nn.Module):
        raise TypeError(f"{_OWNER}: encoder must be an nn.Module, got {type(encoder).__name__}")
    x = _check_inputs("inputs", inputs)
    return _extract(encoder, x, size, "encoder")


def _extract_modalities(
    encoders: Mapping[str, nn.Module] | nn.ModuleDict, inputs: Mapping[str, Tensor], size: int
) -> dict[str, Tensor]:
    if len(inputs) == 0:
        raise ValueError(f"{_OWNER}: inputs must name at least one modality, got an empty mapping")
    available = ", ".join(repr(m) for m in encoders) or "none"
    tensors: dict[str, Tensor] = {}
    for modality, x in inputs.items():
        if modality not in encoders:
            raise ValueError(
                f"{_OWNER}: inputs has the modality {modality!r} but encoder has no encoder for "
                f"it; encoders are given for {available}"
            )
        if not isinstance(encoders[modality], nn.Module):
            got = type(encoders[modality]).__name__
            raise TypeError(f"{_OWNER}: encoder[{modality!r}] must be an nn.Module, got {got}")
        tensors[modality] = _check_inputs(f"inputs[{modality!r}]", x)
    lengths = {m: x.shape[0] for m, x in tensors.items()}
    if len(set(lengths.values())) > 1:
        received = ", ".join(f"{m}: {tuple(x.shape)}" for m, x in tensors.items())
        raise ValueError(
            f"{_OWNER}: every modality of inputs must hold the same number of samples, got "
            f"{received}"
        )
    return {
        modality: _extract(encoders[modality], x, size, f"encoder[{modality!r}]")
        for modality, x in tensors.items()
    }


def _check_inputs(name: str, x: object) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{_OWNER}: {name} must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim == 0 or x.shape[0] == 0:
        raise ValueError(
            f'{_OWNER}: {name} must have shape "b ..." with at least one sample, got '
            f"{tuple(x.shape)}"
        )
    return x


def _extract(encoder: nn.Module, x: Tensor, size: int, name: str) -> Tensor:
    device = _module_device(encoder)
    chunks = []
    with _eval_mode(encoder), torch.no_grad():
        for start in range(0, x.shape[0], size):
            chunk = x[start : start + size]
            out = encoder(chunk if device is None else chunk.to(device))
            if not isinstance(out, Tensor):
                raise TypeError(f"{_OWNER}: {name} must return a tensor, got {type(out).__name__}")
            if out.ndim < 2 or out.shape[0] != chunk.shape[0]:
                raise ValueError(
                    f'{_OWNER}: {name} must return "b d" (or "b ..." to flatten) with one row '
                    f"per input, got {tuple(out.shape)} for inputs of shape {tuple(chunk.shape)}"
                )
            chunks.append(rearrange(out, "b ... -> b (...)").to(x.device))
    return torch.cat(chunks)


def _module_device(module: nn.Module) -> torch.device | None:
    for parameter in module.parameters():
        return parameter.device
    for buffer in module.buffers():
        return buffer.device
    return None


@contextmanager
def _eval_mode(module: nn.Module) -> Iterator[None]:
    """Eval mode inside the block; every submodule's own ``training`` flag restored after it."""
    modes = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        yield
    finally:
        for submodule, training in modes:
            submodule.training = training
