"""Checks shared by the encoder tests (mask equivalence, gradients, autocast, factory kwargs)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import pytest
import torch
from torch import Tensor, nn


def padded_batch(
    lengths: Sequence[int], channels: int, generator: torch.Generator, *, fill: float = float("nan")
) -> tuple[Tensor, Tensor]:
    """A right-padded batch ``"b t c"`` whose padded steps hold ``fill`` (NaN shows any leak)."""
    longest = max(lengths)
    x = torch.randn(len(lengths), longest, channels, generator=generator)
    mask = torch.arange(longest) < torch.tensor(lengths).unsqueeze(1)
    return x.masked_fill(~mask.unsqueeze(-1), fill), mask


def assert_padded_equals_alone(
    encoder: nn.Module, lengths: Sequence[int], channels: int, *, atol: float = 1e-5
) -> None:
    """Eval mode: each row of the padded, masked batch equals the sample run alone."""
    encoder.eval()
    x, mask = padded_batch(lengths, channels, torch.Generator().manual_seed(1))
    with torch.no_grad():
        batched = encoder(x, mask)
        assert torch.isfinite(batched).all()
        for i, length in enumerate(lengths):
            alone = encoder(x[i : i + 1, :length])
            torch.testing.assert_close(batched[i : i + 1], alone, rtol=1e-5, atol=atol)


def assert_every_parameter_gets_gradient(module: nn.Module, *inputs: Tensor) -> None:
    """No dead parameters: one backward reaches every registered parameter."""
    module.train()
    module.zero_grad(set_to_none=True)
    module(*inputs).square().mean().backward()
    dead = [name for name, p in module.named_parameters() if p.grad is None]
    assert not dead, f"parameters without a gradient: {dead}"
    bad = [name for name, p in module.named_parameters() if not torch.isfinite(p.grad).all()]
    assert not bad, f"non-finite gradients: {bad}"


def assert_autocast_works(module: nn.Module, *inputs: Tensor) -> None:
    """float16 and bfloat16 CPU autocast: finite, the autocast dtype, close to float32."""
    module.eval()
    with torch.no_grad():
        reference = module(*inputs)
        for dtype, tolerance in ((torch.float16, 5e-3), (torch.bfloat16, 3e-2)):
            with torch.autocast("cpu", dtype=dtype):
                out = module(*inputs)
            assert out.dtype == dtype
            assert torch.isfinite(out).all()
            error = (out.float() - reference).norm() / reference.norm()
            assert error < tolerance, f"{dtype}: relative error {error:.2e}"


def assert_factory_kwargs(build: Callable[..., nn.Module], *inputs: Tensor) -> None:
    """``dtype=`` reaches every parameter and buffer and the output; ``device=`` all of them."""
    module = build(dtype=torch.float64)
    for name, tensor in [*module.named_parameters(), *module.named_buffers()]:
        if tensor.is_floating_point():
            assert tensor.dtype == torch.float64, name
    module.eval()
    out = module(*(x.double() if x.is_floating_point() else x for x in inputs))
    assert out.dtype == torch.float64
    on_meta = build(device="meta")
    for name, tensor in [*on_meta.named_parameters(), *on_meta.named_buffers()]:
        assert tensor.device.type == "meta", name


def assert_checks_input_dtype(build: Callable[..., nn.Module], owner: str, *inputs: Tensor) -> None:
    """A dtype the parameters cannot take raises a TypeError naming both; autocast's pass.

    ``build(dtype=...)`` makes the module; ``inputs[0]`` is the float32 input ``x``.
    """
    x, *rest = inputs
    module = build().eval()
    start = f"^{owner}: x has dtype "
    with pytest.raises(
        TypeError,
        match=start + r"torch\.float64 but its parameters are torch\.float32; convert the input "
        r"\(x\.float\(\)\) or the encoder \(encoder\.to\(torch\.float64\)\)$",
    ):
        module(x.double(), *rest)
    with pytest.raises(
        TypeError,
        match=start + r"torch\.bfloat16 but its parameters are torch\.float32; .*"
        r"encoder\.to\(torch\.bfloat16\)\); or run it under torch\.autocast$",
    ):
        module(x.bfloat16(), *rest)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        # autocast casts float32 and its own dtype: both are accepted
        for accepted in (x, x.bfloat16()):
            assert torch.isfinite(module(accepted, *rest)).all()
        with pytest.raises(
            TypeError,
            match=start + r"torch\.float16 but its parameters are torch\.float32 and the cpu "
            r"autocast dtype is torch\.bfloat16; under autocast pass float32",
        ):
            module(x.half(), *rest)
        with pytest.raises(TypeError, match=start + r"torch\.float64 but its parameters"):
            module(x.double(), *rest)  # autocast never casts float64
    half = build(dtype=torch.float16).eval()
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        # bfloat16 autocast leaves the norms' float16 parameters alone: PyTorch would fail
        # deep inside the encoder ("mixed dtype"), whatever the input's dtype
        for given in (x, x.half(), x.bfloat16()):
            with pytest.raises(
                TypeError,
                match=start + re.escape(str(given.dtype)) + r" but its parameters are "
                r"torch\.float16 and the cpu autocast dtype is torch\.bfloat16; under autocast "
                r"the parameters must be float32 \(encoder\.float\(\)\) or torch\.bfloat16$",
            ):
                half(given, *rest)
    in_autocast_dtype = build(dtype=torch.bfloat16).eval()
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        # parameters in the autocast dtype take float32 and that dtype
        for accepted in (x, x.bfloat16()):
            assert torch.isfinite(in_autocast_dtype(accepted, *rest).float()).all()
    wide = build(dtype=torch.float64).eval()
    message = (
        start + r"torch\.float32 but its parameters are torch\.float64; convert the input "
        r"\(x\.to\(torch\.float64\)\) or the encoder \(encoder\.to\(torch\.float32\)\)$"
    )
    with pytest.raises(TypeError, match=message):
        wide(x, *rest)
    with torch.autocast("cpu", dtype=torch.bfloat16), pytest.raises(TypeError, match=message):
        wide(x, *rest)  # nor float64 parameters


def num_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
