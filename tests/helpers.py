"""Test utilities shared by every test file (dtype-aware comparisons, round trips, compile)."""

from __future__ import annotations

import importlib.util
import io
import pickle
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

import torch
from torch import Tensor, nn

_TOLERANCES = {
    torch.float16: (1e-3, 1e-3),
    torch.bfloat16: (1.6e-2, 1e-2),
    torch.float32: (1.3e-6, 1e-5),
    torch.float64: (1e-10, 1e-10),
}


def assert_close(
    actual: Tensor, expected: Tensor, *, rtol: float | None = None, atol: float | None = None
) -> None:
    """``torch.testing.assert_close`` with tolerances picked from the dtype."""
    default_rtol, default_atol = _TOLERANCES.get(actual.dtype, (1e-5, 1e-8))
    torch.testing.assert_close(
        actual,
        expected.to(actual.dtype),
        rtol=default_rtol if rtol is None else rtol,
        atol=default_atol if atol is None else atol,
    )


def assert_roundtrip(
    module: nn.Module, factory: Callable[[], nn.Module], inputs: Sequence[Tensor], **kwargs: object
) -> None:
    """``pickle`` and ``load_state_dict`` into a fresh instance both give identical outputs."""
    module.eval()
    expected = module(*inputs, **kwargs)
    clone = pickle.loads(pickle.dumps(module))
    clone.eval()
    torch.testing.assert_close(clone(*inputs, **kwargs), expected, rtol=0, atol=0)
    fresh = factory()
    buffer = io.BytesIO()
    torch.save(module.state_dict(), buffer)
    buffer.seek(0)
    fresh.load_state_dict(torch.load(buffer, weights_only=True))
    fresh.eval()
    torch.testing.assert_close(fresh(*inputs, **kwargs), expected, rtol=0, atol=0)


def compiled_matches_eager(
    fn: Callable[..., Tensor],
    inputs: Sequence[Tensor],
    *,
    backend: str = "aot_eager",
    rtol: float = 1e-5,
    atol: float = 1e-6,
    **kwargs: object,
) -> None:
    """``torch.compile(fullgraph=True)`` works (no graph break) and matches eager, with grads."""
    torch._dynamo.reset()
    compiled = torch.compile(fn, fullgraph=True, backend=backend)
    leaves = [x.detach().clone().requires_grad_(x.is_floating_point()) for x in inputs]
    out_eager = fn(*leaves, **kwargs)
    grads_eager = _grads(out_eager, leaves)
    leaves_c = [x.detach().clone().requires_grad_(x.is_floating_point()) for x in inputs]
    out_compiled = compiled(*leaves_c, **kwargs)
    grads_compiled = _grads(out_compiled, leaves_c)
    torch.testing.assert_close(out_compiled, out_eager, rtol=rtol, atol=atol)
    for got, want in zip(grads_compiled, grads_eager, strict=True):
        if want is None:
            assert got is None
        else:
            torch.testing.assert_close(got, want, rtol=rtol, atol=atol)


def _grads(out: Tensor, leaves: Sequence[Tensor]) -> list[Tensor | None]:
    wanted = [x for x in leaves if x.requires_grad]
    if not out.requires_grad:
        return [None for _ in leaves]
    grads = iter(torch.autograd.grad(out.float().sum(), wanted, allow_unused=True))
    return [next(grads) if x.requires_grad else None for x in leaves]


def load_script(path: Path, name: str) -> ModuleType:
    """Import a script that is not part of the package (an example, a docs or bench script)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look their module up here
    spec.loader.exec_module(module)
    return module
