"""The thin base shared by every augmentation: the sample / apply_params / forward protocol.

``sample(x, *, generator=None)`` draws every random quantity of a batch (dense noise
included) in vectorised calls and returns a ``NamedTuple`` of ``"b ..."`` tensors;
``apply_params(x, params)`` is deterministic and differentiable; ``forward`` chains them.
Nothing random is stored on the module. Randomness is drawn on ``generator.device`` when a generator
is given (then moved to ``x.device``), else on ``x.device``, in float32 (float64 for float64
inputs) so that one seed gives the same draw for float16, bfloat16 and float32 batches.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import Any, ClassVar, Generic, NamedTuple, TypeVar

import torch
from torch import Tensor, nn

from mmcontrast._checks import check_bool, check_tensor, checking
from mmcontrast._ops import unsqueeze_as

__all__ = [
    "Augmentation",
    "Draw",
    "NoParams",
    "compute_dtype",
    "expect_joint",
    "expect_shape",
    "map_params",
    "where_rows",
]

P = TypeVar("P")


class NoParams(NamedTuple):
    """The parameters of a deterministic transform (it draws nothing)."""


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype random draws and arithmetic use: float32, or float64 for float64 inputs."""
    return torch.promote_types(dtype, torch.float32)


def map_params(fn: Callable[[Tensor], Tensor], params: Any) -> Any:
    """Apply ``fn`` to every tensor in a (nested) parameter tuple, keeping its types."""
    if isinstance(params, Tensor):
        return fn(params)
    if isinstance(params, tuple):
        mapped = [map_params(fn, item) for item in params]
        return type(params)(*mapped) if hasattr(params, "_fields") else tuple(mapped)
    if isinstance(params, dict):
        return {key: map_params(fn, value) for key, value in params.items()}
    return params


def where_rows(applied: Tensor, value: Tensor, identity: Tensor | float) -> Tensor:
    """Rows of ``value`` where ``applied`` (``"b"`` bool) is true, else ``identity``."""
    return torch.where(unsqueeze_as(applied, value), value, identity)


def expect_joint(what: str, joint: int, x: Tensor) -> None:
    """``joint`` indexes a joint of the skeletons ``x: "b t j c"``; ``what`` names it."""
    if joint >= x.shape[2]:
        raise ValueError(f"{what} is not a joint of x with shape {tuple(x.shape)}")


def expect_shape(name: str, t: Tensor, shape: tuple[int | None, ...]) -> None:
    """``t`` has ``len(shape)`` dimensions and the given sizes where they are not ``None``."""
    ok = t.ndim == len(shape) and all(
        s is None or s == n for s, n in zip(shape, t.shape, strict=True)
    )
    if not ok:
        want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{name} must have shape {want}, got {tuple(t.shape)}")


def _leaves(params: Any, found: list[Tensor] | None = None) -> list[Tensor]:
    found = [] if found is None else found
    if isinstance(params, Tensor):
        found.append(params)
    elif isinstance(params, tuple):
        for item in params:
            _leaves(item, found)
    elif isinstance(params, dict):
        for item in params.values():
            _leaves(item, found)
    return found


class Draw:
    """Vectorised random draws for one ``sample`` call (transient: never stored).

    Draws happen on ``generator.device`` when a generator is given, else on ``x.device``, in
    `compute_dtype` of ``x``; results are moved to ``x.device``.
    """

    def __init__(self, x: Tensor, generator: torch.Generator | None) -> None:
        self.generator = generator
        self.device = x.device
        self.dtype = compute_dtype(x.dtype)
        self.source = generator.device if generator is not None else x.device
        self._move = self.source != self.device

    def uniform(self, *shape: int, low: float = 0.0, high: float = 1.0) -> Tensor:
        """``U(low, high)`` of the given shape."""
        u = torch.rand(shape, generator=self.generator, device=self.source, dtype=self.dtype)
        u = u.to(self.device) if self._move else u
        return u if (low, high) == (0.0, 1.0) else low + (high - low) * u

    def normal(self, *shape: int, mean: float = 0.0, std: float = 1.0) -> Tensor:
        """``N(mean, std**2)`` of the given shape."""
        z = torch.empty(shape, device=self.source, dtype=self.dtype)
        z = z.normal_(mean, std, generator=self.generator)
        return z.to(self.device) if self._move else z

    def permutation(self, batch: int, n: int) -> Tensor:
        """One uniformly random permutation of ``range(n)`` per row: ``"b n"`` int64."""
        return torch.argsort(self.uniform(batch, n), dim=1)


class Augmentation(nn.Module, Generic[P], metaclass=abc.ABCMeta):
    """Base of every augmentation: ``sample`` / ``apply_params`` / ``forward`` over a batch.

    Subclasses set ``pattern`` (the einops input pattern; a trailing ``...`` accepts any
    number of further axes), implement ``_sample(x, batch, draw)`` and ``_transform(x, params)``,
    and may extend ``_check_input``. ``same_on_batch=True`` draws one set of parameters and
    shares it across the batch. ``apply`` is `torch.nn.Module.apply`, as on any module.
    """

    pattern: ClassVar[str] = "b ..."
    _temporal: ClassVar[bool] = False

    def __init__(self, *, same_on_batch: bool = False) -> None:
        super().__init__()
        with checking(type(self).__name__):
            self.same_on_batch = check_bool("same_on_batch", same_on_batch)

    @property
    def temporal(self) -> bool:
        """Whether it acts on the time axis only, with a draw that ignores the length.

        Such transforms can be shared across modalities by `mmcontrast.augment.Paired`.
        """
        return self._temporal

    # --- the protocol -----------------------------------------------------------------
    def sample(self, x: Tensor, *, generator: torch.Generator | None = None) -> P:
        """Draw the parameters for the batch ``x`` (only its shape, dtype and device are read).

        Shapes:
            x: see the class; every tensor of the output: ``"b ..."``.
        """
        x = self._check_input(x)
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(
                f"{type(self).__name__}: generator must be a torch.Generator or None, got "
                f"{type(generator).__name__}"
            )
        return self._draw(x, Draw(x, generator))

    def _draw(self, x: Tensor, draw: Draw) -> P:
        """``sample`` for a validated ``x``, drawing from ``draw`` (containers share theirs)."""
        batch = x.shape[0]
        params = self._sample(x, 1 if self.same_on_batch else batch, draw)
        if self.same_on_batch:
            params = map_params(lambda t: t.expand(batch, *t.shape[1:]), params)
        return params

    def apply_params(self, x: Tensor, params: P) -> Tensor:
        """Apply the transform with the given parameters (deterministic, differentiable).

        Shapes:
            x: see the class; output: the shape of ``x``, in its dtype.
        """
        x = self._check_input(x)
        if params is None:
            raise TypeError(
                f"{type(self).__name__}: apply_params needs params (from sample); forward(x) "
                "draws them"
            )
        self._check_params(x, params)
        return self._transform(x, params)

    def forward(
        self, x: Tensor, params: P | None = None, *, generator: torch.Generator | None = None
    ) -> Tensor:
        """``apply_params(x, params)``, with ``params = sample(x, generator=generator)`` if absent.

        Shapes:
            x: see the class; output: the shape of ``x``, in its dtype.
        """
        if params is None:
            params = self.sample(x, generator=generator)
        return self.apply_params(x, params)

    # --- hooks ------------------------------------------------------------------------
    @abc.abstractmethod
    def _sample(self, x: Tensor, batch: int, draw: Draw) -> P:
        """Draw the parameters of ``batch`` rows (``1`` when ``same_on_batch``)."""

    @abc.abstractmethod
    def _transform(self, x: Tensor, params: P) -> Tensor:
        """Apply validated parameters to a validated input."""

    def _check_input(self, x: object) -> Tensor:
        """``x`` checked against ``pattern``; subclasses add their own constraints."""
        with checking(type(self).__name__):
            return check_tensor("x", x, pattern=self.pattern)

    def _check_params(self, x: Tensor, params: object) -> None:
        for leaf in _leaves(params):
            if leaf.ndim == 0 or leaf.shape[0] != x.shape[0]:
                raise ValueError(
                    f"{type(self).__name__}: params were drawn for another batch: x has shape "
                    f"{tuple(x.shape)} but a parameter has shape {tuple(leaf.shape)}"
                )
            if leaf.device != x.device:
                raise ValueError(
                    f"{type(self).__name__}: params must be on {x.device} like x, got {leaf.device}"
                )

    def _neutralize(self, params: P, applied: Tensor) -> P | None:
        """Parameters that leave the rows with ``applied == False`` unchanged, or ``None``.

        `mmcontrast.augment.RandomApply` applies these instead of blending the
        transformed and original batches with ``torch.where``, which saves one pass over the
        data (and ``torch.where`` with a per-row condition is several times slower than
        arithmetic on the CPU). Only overridden where identity parameters exist and reproduce
        finite inputs (up to the sign of a zero).
        """
        return None

    def _apply_rows(self, x: Tensor, params: P, applied: Tensor) -> Tensor:
        """``apply_params`` on the rows where ``applied`` (``"b"`` bool) holds; others unchanged.

        What `mmcontrast.augment.RandomApply` runs: identity parameters on the skipped rows
        where `_neutralize` gives them, else a blend with ``torch.where``. Override it where
        one fused kernel does better. The caller has checked ``params`` against ``x`` (batch
        size, device); ``x`` is checked here against this transform's pattern.
        """
        x = self._check_input(x)
        neutral = self._neutralize(params, applied)
        if neutral is not None:  # identity parameters on the skipped rows: one pass
            return self._transform(x, neutral)
        return where_rows(applied, self._transform(x, params), x)

    def _linear(self, x: Tensor, params: P) -> tuple[Tensor, int | None] | None:
        """``(matrix "b c c", pivot)`` if ``apply_params`` is a linear map, else ``None``.

        That is, ``apply_params`` is ``linear_about(x, matrix, pivot=pivot)``, a linear map of
        the last axis: skeleton coordinates about the origin or a pivot joint, or IMU channels
        (``pivot=None``). The matrix has the compute dtype of ``x``.
        `mmcontrast.augment.Compose` multiplies consecutive such maps and applies the product
        with `mmcontrast.augment.functional.linear_about` in one pass.
        """
        return None

    @property
    def _reorders_frames(self) -> bool:
        """Whether every output frame is a copy of one input frame of the same sample.

        Such a transform commutes exactly with any map applied to each frame on its own, so
        `mmcontrast.augment.Compose` can run it before a pending product of linear maps.
        """
        return False

    def _repr_fields(self) -> dict[str, object]:
        return {}

    def extra_repr(self) -> str:
        fields = self._repr_fields()
        if self.same_on_batch:
            fields["same_on_batch"] = True
        return ", ".join(f"{key}={value!r}" for key, value in fields.items())
