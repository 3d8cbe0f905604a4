"""Containers: `Compose`, `RandomApply` and `Paired`.

`Compose` is a pipeline, `RandomApply` applies a transform with a per-sample
probability, and `Paired` shares one draw of time-axis transforms between modalities.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, cast

import torch
from torch import Tensor, nn

from mmcontrast._checks import check_probability, checking
from mmcontrast.augment import functional as AF
from mmcontrast.augment._base import Augmentation, Draw, where_rows

__all__ = ["Compose", "ComposeParams", "Paired", "PairedParams", "RandomApply", "RandomApplyParams"]


def _check_augmentation(name: str, value: object) -> Augmentation[Any]:
    if not isinstance(value, Augmentation):
        raise TypeError(f"{name} must be an mmcontrast Augmentation, got {type(value).__name__}")
    return value


class ComposeParams(NamedTuple):
    """The parameters of each step, in order."""

    steps: tuple[Any, ...]


class RandomApplyParams(NamedTuple):
    """Which samples are transformed (``"b"`` bool) and the wrapped transform's parameters."""

    applied: Tensor
    inner: Any


class Compose(Augmentation[ComposeParams]):
    """Apply transforms one after the other; ``sample`` draws every step's parameters.

    Consecutive skeleton scalings, rotations and shears (bare or in `RandomApply`) are
    multiplied into one map and applied in one pass, also when some turn about a pivot joint
    and others about the origin (a second pivot joint starts a new product); the result equals
    applying them one by one up to floating-point rounding. Steps that only move whole frames
    (`mmcontrast.augment.SegmentPermute`) run before such a pending product: that order
    gives bit-identical results.

    Args:
        transforms: the steps, in order.

    Shapes:
        x: what the steps accept; output: the shape of ``x``.

    Examples:
        >>> import torch
        >>> from mmcontrast.augment import ChannelScale, Compose, Jitter, RandomApply
        >>> pipeline = Compose([RandomApply(Jitter(sigma=0.05), p=0.75), ChannelScale()])
        >>> x = torch.randn(8, 50, 6)
        >>> params = pipeline.sample(x, generator=torch.Generator().manual_seed(0))
        >>> torch.equal(pipeline(x, params), pipeline(x, params))
        True
    """

    def __init__(self, transforms: Sequence[Augmentation[Any]]) -> None:
        super().__init__()
        if isinstance(transforms, Augmentation) or not isinstance(transforms, Sequence):
            raise TypeError(
                f"Compose: transforms must be a sequence of augmentations, got "
                f"{type(transforms).__name__}"
            )
        with checking("Compose"):
            steps = [_check_augmentation(f"transforms[{i}]", t) for i, t in enumerate(transforms)]
        self.transforms = nn.ModuleList(steps)

    @property
    def temporal(self) -> bool:
        """Whether every step acts on the time axis only (so it can be shared by modalities)."""
        return all(t.temporal for t in self._steps())

    def _sample(self, x: Tensor, batch: int, draw: Draw) -> ComposeParams:
        return ComposeParams(steps=tuple(t._draw(t._check_input(x), draw) for t in self._steps()))

    def _check_params(self, x: Tensor, params: object) -> None:
        # Only the structure here: each step checks its own parameters in ``_transform``.
        if not isinstance(params, ComposeParams):
            raise TypeError(
                f"Compose: params must be ComposeParams (from sample), got {type(params).__name__}"
            )
        if len(params.steps) != len(self.transforms):
            raise ValueError(
                f"Compose: params hold {len(params.steps)} steps for {len(self.transforms)} "
                "transforms"
            )

    def _transform(self, x: Tensor, params: ComposeParams) -> Tensor:
        # Consecutive linear maps wait in ``pending`` and are applied as one product. Steps that
        # only reorder frames commute exactly with such per-frame maps and run before them.
        pending: list[tuple[Augmentation[Any], Any, tuple[Tensor, int | None]]] = []
        pivot: int | None = None  # the pending product's pivot joint, if any
        for transform, step in zip(self._steps(), params.steps, strict=True):
            transform._check_params(transform._check_input(x), step)
            if pending and transform._reorders_frames:
                x = transform._transform(x, step)
                continue
            linear = transform._linear(x, step)
            if linear is None:
                if pending:
                    x, pending, pivot = _apply_product(x, pending), [], None
                x = transform._transform(x, step)
                continue
            if None not in (pivot, linear[1]) and pivot != linear[1]:  # two pivots
                x, pending, pivot = _apply_product(x, pending), [], None
            pending.append((transform, step, linear))
            pivot = linear[1] if linear[1] is not None else pivot
        return _apply_product(x, pending) if pending else x

    @property
    def _reorders_frames(self) -> bool:
        return all(t._reorders_frames for t in self._steps())

    def _neutralize(self, params: ComposeParams, applied: Tensor) -> ComposeParams | None:
        steps = [
            t._neutralize(p, applied) for t, p in zip(self._steps(), params.steps, strict=True)
        ]
        if any(step is None for step in steps):
            return None
        return ComposeParams(steps=tuple(steps))

    def __len__(self) -> int:
        return len(self.transforms)

    def _steps(self) -> list[Augmentation[Any]]:
        return [cast("Augmentation[Any]", t) for t in self.transforms]


def _apply_product(
    x: Tensor, pending: list[tuple[Augmentation[Any], Any, tuple[Tensor, int | None]]]
) -> Tensor:
    """Apply the pending linear maps in order, as one product when there are several.

    With ``o`` the pivot joint of the input frame, the product so far is ``y = A p + K o``
    (``K = None`` without a pivot). A map ``M`` about the origin makes it ``(M A, M K)``; a
    map about the pivot, ``y' = M y + (I - M) y_o`` with ``y_o = (A + K) o``, makes it
    ``(M A, M K + (I - M)(A + K))`` (``K = 0`` before the first pivot).
    """
    if len(pending) == 1:  # the step's own kernel
        transform, step, _ = pending[0]
        return transform._transform(x, step)
    matrix, pivot = pending[0][2]
    eye = torch.eye(matrix.shape[-1], device=matrix.device, dtype=matrix.dtype)
    pivot_matrix = None if pivot is None else eye - matrix
    for _, _, (step_matrix, step_pivot) in pending[1:]:
        if step_pivot is None:
            pivot_matrix = None if pivot_matrix is None else step_matrix @ pivot_matrix
        else:
            before = matrix if pivot_matrix is None else matrix + pivot_matrix
            moved = (eye - step_matrix) @ before
            pivot_matrix = moved if pivot_matrix is None else step_matrix @ pivot_matrix + moved
            pivot = step_pivot
        matrix = step_matrix @ matrix
    return AF.linear_about(x, matrix, pivot=pivot, pivot_matrix=pivot_matrix)


class RandomApply(Augmentation[RandomApplyParams]):
    """Apply a transform to each sample independently with probability ``p``.

    ``sample`` draws one Bernoulli(p) per sample and the transform's parameters for the whole
    batch; ``apply_params`` transforms the batch and returns the skipped rows of ``x`` unchanged
    (equal values, for finite inputs; a zero may change sign). Where the transform has
    identity parameters, the skipped rows get them and the batch is transformed in one pass
    (`mmcontrast.augment.Jitter` adds its noise times a 0 / 1 row mask in one kernel);
    otherwise the transformed and the original batches are blended with ``torch.where``.

    Args:
        transform: the wrapped augmentation.
        p: application probability in ``[0, 1]``; 0 returns ``x``, 1 always applies.
        same_on_batch: one decision for the whole batch.

    Shapes:
        x: what ``transform`` accepts; output: the shape of ``x``.

    Examples:
        >>> import torch
        >>> from mmcontrast.augment import Jitter, RandomApply
        >>> maybe = RandomApply(Jitter(sigma=1.0), p=0.5)
        >>> params = maybe.sample(torch.zeros(1000, 50, 6))
        >>> 0.4 < params.applied.float().mean().item() < 0.6
        True
        >>> maybe
        RandomApply(
          p=0.5
          (transform): Jitter(sigma=1.0)
        )
    """

    def __init__(
        self, transform: Augmentation[Any], *, p: float = 0.5, same_on_batch: bool = False
    ) -> None:
        super().__init__(same_on_batch=same_on_batch)
        with checking("RandomApply"):
            self.transform = _check_augmentation("transform", transform)
            self.p = check_probability("p", p)

    @property
    def temporal(self) -> bool:
        """Whether the wrapped transform acts on the time axis only."""
        return self.transform.temporal

    def _sample(self, x: Tensor, batch: int, draw: Draw) -> RandomApplyParams:
        applied = draw.uniform(batch) < self.p
        inner = self.transform._draw(self.transform._check_input(x), draw)
        return RandomApplyParams(applied=applied, inner=inner)

    def _transform(self, x: Tensor, params: RandomApplyParams) -> Tensor:
        return self.transform._apply_rows(x, params.inner, params.applied)

    def _neutralize(self, params: RandomApplyParams, applied: Tensor) -> RandomApplyParams:
        return params._replace(applied=params.applied & applied)

    def _linear(self, x: Tensor, params: RandomApplyParams) -> tuple[Tensor, int | None] | None:
        linear = self.transform._linear(x, params.inner)
        if linear is None:
            return None
        matrix, pivot = linear  # the identity matrix is the identity map, pivot or not
        eye = torch.eye(matrix.shape[-1], device=matrix.device, dtype=matrix.dtype)
        return where_rows(params.applied, matrix, eye), pivot

    @property
    def _reorders_frames(self) -> bool:
        return self.transform._reorders_frames

    def _repr_fields(self) -> dict[str, object]:
        return {"p": self.p}


class PairedParams(NamedTuple):
    """The shared draw and each modality's own draw."""

    shared: Any
    own: dict[str, Any]


class Paired(nn.Module):
    """Augment several modalities of one batch, sharing the time-axis transforms' draw.

    ``shared`` (time-axis transforms only: `mmcontrast.augment.TemporalCropResize`,
    `mmcontrast.augment.TimeWarp`, `mmcontrast.augment.TimeMask`,
    `mmcontrast.augment.SegmentPermute`, or containers of them) is sampled once and
    applied to every modality. Its parameters live in normalised time, so an IMU window of
    ``T1`` samples and a skeleton window of ``T2`` frames get the same part of the recording.
    Then each modality named in ``own`` gets its own transform with its own draw.

    Args:
        shared: applied first, with one draw for all modalities; ``None`` for none.
        own: per-modality transforms, keyed like the inputs.

    Shapes:
        inputs: a mapping of ``"b t ..."`` tensors with one ``b``; output: the same shapes.

    Examples:
        >>> import torch
        >>> from mmcontrast.augment import Jitter, Paired, TemporalCropResize
        >>> paired = Paired(TemporalCropResize(scale=(0.8, 0.9)), own={"inertial": Jitter()})
        >>> batch = {"inertial": torch.randn(8, 50, 6), "skeleton": torch.randn(8, 40, 20, 3)}
        >>> out = paired(batch, generator=torch.Generator().manual_seed(0))
        >>> {name: tuple(value.shape) for name, value in out.items()}
        {'inertial': (8, 50, 6), 'skeleton': (8, 40, 20, 3)}
    """

    def __init__(
        self,
        shared: Augmentation[Any] | None = None,
        *,
        own: Mapping[str, Augmentation[Any]] | None = None,
    ) -> None:
        super().__init__()
        with checking("Paired"):
            if shared is not None:
                _check_augmentation("shared", shared)
                if not shared.temporal:
                    raise ValueError(
                        f"shared must act on the time axis only (TemporalCropResize, "
                        f"TimeWarp, TimeMask, SegmentPermute or containers of them), got {shared!r}"
                    )
            self.shared = shared
            own = {} if own is None else own
            if not isinstance(own, Mapping):
                raise TypeError(f"own must be a mapping, got {type(own).__name__}")
            self.own = nn.ModuleDict(
                {name: _check_augmentation(f"own[{name!r}]", t) for name, t in own.items()}
            )

    def _check_inputs(self, inputs: object) -> dict[str, Tensor]:
        if not isinstance(inputs, Mapping) or not inputs:
            raise TypeError("Paired: inputs must be a non-empty mapping of modality -> tensor")
        checked = dict(inputs)
        for name, value in checked.items():
            if not isinstance(value, Tensor) or value.ndim < 2:
                shape = tuple(value.shape) if isinstance(value, Tensor) else type(value).__name__
                raise ValueError(
                    f'Paired: inputs[{name!r}] must be a "b t ..." tensor, got {shape}'
                )
        shapes = {name: tuple(value.shape) for name, value in checked.items()}
        if len({value.shape[0] for value in checked.values()}) != 1:
            raise ValueError(f"Paired: all inputs must share the batch size, got {shapes}")
        if len({value.device for value in checked.values()}) != 1:
            devices = {name: str(value.device) for name, value in checked.items()}
            raise ValueError(f"Paired: all inputs must be on one device, got {devices}")
        missing = sorted(set(self.own) - set(checked))
        if missing:
            raise ValueError(
                f"Paired: no input for the modalities {missing}; got {sorted(checked)}"
            )
        return checked

    def sample(
        self, inputs: Mapping[str, Tensor], *, generator: torch.Generator | None = None
    ) -> PairedParams:
        """Draw the shared parameters once, then each modality's own.

        Shapes:
            inputs: a mapping of ``"b t ..."`` tensors; every output tensor: ``"b ..."``.
        """
        checked = self._check_inputs(inputs)
        first = next(iter(checked.values()))
        shared = None if self.shared is None else self.shared.sample(first, generator=generator)
        own = {
            name: cast("Augmentation[Any]", t).sample(checked[name], generator=generator)
            for name, t in self.own.items()
        }
        return PairedParams(shared=shared, own=own)

    def apply_params(self, inputs: Mapping[str, Tensor], params: PairedParams) -> dict[str, Tensor]:
        """Apply the shared draw to every modality, then each modality's own.

        Shapes:
            inputs: a mapping of ``"b t ..."`` tensors; output: the same shapes.
        """
        if not isinstance(params, PairedParams):
            raise TypeError(
                f"{type(self).__name__}: params must be PairedParams (from sample), got "
                f"{type(params).__name__}"
            )
        checked = self._check_inputs(inputs)
        out = {}
        for name, value in checked.items():
            if self.shared is not None:
                value = self.shared.apply_params(value, params.shared)
            if name in self.own:
                own = cast("Augmentation[Any]", self.own[name])
                value = own.apply_params(value, params.own[name])
            out[name] = value
        return out

    def forward(
        self,
        inputs: Mapping[str, Tensor],
        params: PairedParams | None = None,
        *,
        generator: torch.Generator | None = None,
    ) -> dict[str, Tensor]:
        """``apply_params(inputs, params)``, drawing the parameters if absent.

        Shapes:
            inputs: a mapping of ``"b t ..."`` tensors; output: the same shapes.
        """
        if params is None:
            params = self.sample(inputs, generator=generator)
        return self.apply_params(inputs, params)
