"""IMU augmentations for ``"b t c"`` windows whose channels come in 3-axis triads.

UTD-MHAD's six channels are one accelerometer triad (x, y, z in g) and one gyroscope triad
(deg/s). `Jitter` also works on any other ``"b ..."`` batch (skeletons included); the
time-axis augmentations are in `mmcontrast.augment.temporal`.
"""

from __future__ import annotations

import math
from typing import ClassVar, NamedTuple

import torch
from torch import Tensor

from mmcontrast._checks import check_finite_number, check_int, check_probability, checking
from mmcontrast._ops import unsqueeze_as
from mmcontrast.augment import functional as AF
from mmcontrast.augment._base import Augmentation, Draw, where_rows

__all__ = [
    "ChannelDropout",
    "ChannelScale",
    "ChannelShuffle",
    "DropParams",
    "Jitter",
    "JitterParams",
    "MagnitudeWarp",
    "MagnitudeWarpParams",
    "PermutationParams",
    "RotationParams",
    "ScaleParams",
    "TriadRotate",
]


class JitterParams(NamedTuple):
    """Additive noise, the shape of ``x`` (already multiplied by ``sigma``)."""

    noise: Tensor


class ScaleParams(NamedTuple):
    """Multiplicative factors, ``"b c"``."""

    factors: Tensor


class MagnitudeWarpParams(NamedTuple):
    """Curve values at equally spaced knots, ``"b k c"``."""

    knots: Tensor


class PermutationParams(NamedTuple):
    """A permutation of the channels (or joints) per sample, ``"b c"`` int64."""

    permutation: Tensor


class RotationParams(NamedTuple):
    """One rotation matrix per sample, ``"b 3 3"``."""

    rotation: Tensor


class DropParams(NamedTuple):
    """``True`` where a channel (or joint) is dropped, ``"b c"`` bool."""

    dropped: Tensor


def _as(out: Tensor, x: Tensor) -> Tensor:
    """``out`` in the dtype of ``x`` (half-precision inputs are computed in float32)."""
    return out if out.dtype == x.dtype else out.to(x.dtype)


def _row_mask(applied: Tensor, like: Tensor) -> Tensor:
    """``applied`` (``"b"`` bool) as 1 / 0 in the dtype of ``like``, shaped to broadcast."""
    return unsqueeze_as(applied, like).to(like.dtype)


class Jitter(Augmentation[JitterParams]):
    """Add i.i.d. Gaussian noise ``N(0, sigma**2)`` to every element (sensor noise).

    Works on any batch: IMU ``"b t c"``, skeleton ``"b t j c"``. The noise is drawn in
    ``sample`` (the parameters hold it), so replaying the parameters replays the noise.

    Args:
        sigma: noise standard deviation in the input's units, ``>= 0``. Um et al.: 0.05 on
            normalised data; CMC-CMKM's UTD-MHAD settings: 1 for raw IMU units, 0.1 for the
            normalised skeleton.
        same_on_batch: the same noise for every sample.

    Shapes:
        x: ``"b ..."``; output: ``"b ..."``.

    Examples:
        >>> import torch
        >>> from mmcontrast.augment import Jitter
        >>> jitter = Jitter(sigma=0.05)
        >>> x = torch.randn(8, 50, 6)
        >>> params = jitter.sample(x, generator=torch.Generator().manual_seed(0))
        >>> torch.equal(jitter.apply_params(x, params), x + params.noise)
        True
    """

    def __init__(self, *, sigma: float = 0.05, same_on_batch: bool = False) -> None:
        super().__init__(same_on_batch=same_on_batch)
        with checking(type(self).__name__):
            self.sigma = check_finite_number("sigma", sigma, low=0.0)

    def _sample(self, x: Tensor, batch: int, draw: Draw) -> JitterParams:
        return JitterParams(noise=draw.normal(batch, *x.shape[1:], std=self.sigma))

    def _transform(self, x: Tensor, params: JitterParams) -> Tensor:
        return _as(x + params.noise, x)

    def _neutralize(self, params: JitterParams, applied: Tensor) -> JitterParams:
        noise = params.noise
        return JitterParams(noise=noise * _row_mask(applied, noise))

    def _apply_rows(self, x: Tensor, params: JitterParams, applied: Tensor) -> Tensor:
        x = self._check_input(x)
        # one pass, x + noise * mask: no masked copy of the noise, no blend
        return _as(torch.addcmul(x, params.noise, _row_mask(applied, params.noise)), x)

    def _repr_fields(self) -> dict[str, object]:
        return {"sigma": self.sigma}


class ChannelScale(Augmentation[ScaleParams]):
    """Multiply each channel by its own factor ``N(1, sigma**2)`` (Um et al. "scaling").

    Args:
        sigma: factor standard deviation, ``>= 0``. Um et al.: 0.1.
        same_on_batch: the same factors for every sample.

    Shapes:
        x: ``"b t c"``; output: ``"b t c"``.

    Examples:
        >>> import torch
        >>> from mmcontrast.augment import ChannelScale
        >>> ChannelScale(sigma=0.1)(torch.randn(8, 50, 6)).shape
        torch.Size([8, 50, 6])
    """

    pattern: ClassVar[str] = "b t c"

    def __init__(self, *, sigma: float = 0.1, same_on_batch: bool = False) -> None:
        super().__init__(same_on_batch=same_on_batch)
        with checking(type(self).__name__):
            self.sigma = check_finite_number("sigma", sigma, low=0.0)

    def _sample(self, x: Tensor, batch: int, draw: Draw) -> ScaleParams:
        return ScaleParams(factors=draw.normal(batch, x.shape[2], mean=1.0, std=self.sigma))

    def _transform(self, x: Tensor, params: ScaleParams) -> Tensor:
        return _as(x * params.factors.unsqueeze(1), x)

    def _neutralize(self, params: ScaleParams, applied: Tensor) -> ScaleParams:
        return ScaleParams(factors=where_rows(applied, params.factors, 1.0))

    def _repr_fields(self) -> dict[str, object]:
        return {"sigma": self.sigma}


class MagnitudeWarp(Augmentation[MagnitudeWarpParams]):
    """Multiply each channel by a smooth random curve around 1 (Um et al. 2017).

    The curve passes through ``num_knots + 2`` equally spaced values ``N(1, sigma**2)``
    (ends included), interpolated by a Catmull-Rom spline
    (`mmcontrast.augment.functional.magnitude_warp`).

    Args:
        sigma: spread of the knot values, ``>= 0`` (0 is the identity). Um et al.: 0.2.
        num_knots: inner knots, ``>= 0``. Um et al.: 4.
        same_on_batch: the same curves for every sample.

    Shapes:
        x: ``"b t c"``; output: ``"b t c"``.

    Examples:
        >>> import torch
        >>> from mmcontrast.augment import MagnitudeWarp
        >>> MagnitudeWarp(sigma=0.2, num_knots=4)(torch.randn(8, 50, 6)).shape
        torch.Size([8, 50, 6])
    """

    pattern: ClassVar[str] = "b t c"

    def __init__(
        self, *, sigma: float = 0.2, num_knots: int = 4, same_on_batch: bool = False
    ) -> None:
        super().__init__(same_on_batch=same_on_batch)
        with checking("MagnitudeWarp"):
            self.sigma = check_finite_number("sigma", sigma, low=0.0)
            self.num_knots = check_int("num_knots", num_knots, minimum=0)

    def _sample(self, x: Tensor, batch: int, draw: Draw) -> MagnitudeWarpParams:
        knots = draw.normal(batch, self.num_knots + 2, x.shape[2], mean=1.0, std=self.sigma)
        return MagnitudeWarpParams(knots=knots)

    def _transform(self, x: Tensor, params: MagnitudeWarpParams) -> Tensor:
        return AF.magnitude_warp(x, params.knots)

    def _neutralize(self, params: MagnitudeWarpParams, applied: Tensor) -> MagnitudeWarpParams:
        return MagnitudeWarpParams(knots=where_rows(applied, params.knots, 1.0))

    def _repr_fields(self) -> dict[str, object]:
        return {"sigma": self.sigma, "num_knots": self.num_knots}


class ChannelShuffle(Augmentation[PermutationParams]):
    """Randomly permute the channels of each sample.

    This acts on the channel axis. (CMC-CMKM's "channel shuffle" runs on channel-first
    tensors and so shuffles time steps; see the augmentation guide.)

    Args:
        same_on_batch: the same permutation for every sample.

    Shapes:
        x: ``"b t c"``; output: ``"b t c"``.

    Examples:
        >>> import torch
        >>> from mmcontrast.augment import ChannelShuffle
        >>> x = torch.arange(6.0).expand(2, 3, 6)
        >>> y = ChannelShuffle()(x, generator=torch.Generator().manual_seed(0))
        >>> torch.equal(y.sort(dim=2).values, x)
        True
    """

    pattern: ClassVar[str] = "b t c"

    def __init__(self, *, same_on_batch: bool = False) -> None:
        super().__init__(same_on_batch=same_on_batch)

    def _sample(self, x: Tensor, batch: int, draw: Draw) -> PermutationParams:
        return PermutationParams(permutation=draw.permutation(batch, x.shape[2]))

    def _transform(self, x: Tensor, params: PermutationParams) -> Tensor:
        index = params.permutation.unsqueeze(1).expand(-1, x.shape[1], -1)
        return x.gather(2, index)

    def _neutralize(self, params: PermutationParams, applied: Tensor) -> PermutationParams:
        perm = params.permutation
        identity = torch.arange(perm.shape[1], device=perm.device)
        return PermutationParams(permutation=where_rows(applied, perm, identity))


class TriadRotate(Augmentation[RotationParams]):
    """Rotate the sensor: one random 3-D rotation applied to every channel triad alike.

    The axis is uniform on the sphere and the angle uniform in ``[-max_degrees,
    max_degrees]``; accelerometer and gyroscope triads turn together, as they would if the
    device were worn rotated (`mmcontrast.augment.functional.rotate_triads`).

    Args:
        max_degrees: largest rotation angle in degrees, in ``[0, 180]`` (0 is the identity).
            Um et al. draw any angle (180).
        same_on_batch: the same rotation for every sample.

    Shapes:
        x: ``"b t (g 3)"``; output: ``"b t (g 3)"``.

    Examples:
        >>> import torch
        >>> from mmcontrast.augment import TriadRotate
        >>> x = torch.randn(8, 50, 6)
        >>> y = TriadRotate(max_degrees=30.0)(x)
        >>> torch.allclose(y.view(8, 50, 2, 3).norm(dim=3), x.view(8, 50, 2, 3).norm(dim=3))
        True
    """

    pattern: ClassVar[str] = "b t c"

    def __init__(self, *, max_degrees: float = 180.0, same_on_batch: bool = False) -> None:
        super().__init__(same_on_batch=same_on_batch)
        with checking(type(self).__name__):
            self.max_degrees = check_finite_number(
                "max_degrees", max_degrees, low=0.0, high=180.0, high_open=False
            )

    def _check_input(self, x: object) -> Tensor:
        x = super()._check_input(x)
        if x.shape[2] % 3 != 0:
            raise ValueError(
                'TriadRotate: x must have shape "b t (g 3)": channels in 3-axis triads, so a '
                f"channel count that is a multiple of 3, got {tuple(x.shape)}"
            )
        return x

    def _sample(self, x: Tensor, batch: int, draw: Draw) -> RotationParams:
        axis = draw.normal(batch, 3)
        limit = math.radians(self.max_degrees)
        angle = draw.uniform(batch, low=-limit, high=limit)
        return RotationParams(rotation=AF.axis_angle_to_matrix(axis, angle))

    def _transform(self, x: Tensor, params: RotationParams) -> Tensor:
        return AF.rotate_triads(x, params.rotation)

    def _neutralize(self, params: RotationParams, applied: Tensor) -> RotationParams:
        rotation = params.rotation
        eye = torch.eye(3, device=rotation.device, dtype=rotation.dtype)
        return RotationParams(rotation=where_rows(applied, rotation, eye))

    def _repr_fields(self) -> dict[str, object]:
        return {"max_degrees": self.max_degrees}


class ChannelDropout(Augmentation[DropParams]):
    """Zero each channel of each sample with probability ``rate`` (a missing sensor axis).

    Args:
        rate: drop probability per channel, in ``[0, 1]`` (0 is the identity).
        same_on_batch: the same channels dropped in every sample.

    Shapes:
        x: ``"b t c"``; output: ``"b t c"``.

    Examples:
        >>> import torch
        >>> from mmcontrast.augment import ChannelDropout
        >>> y = ChannelDropout(rate=1.0)(torch.randn(2, 50, 6))
        >>> bool((y == 0).all())
        True
    """

    pattern: ClassVar[str] = "b t c"

    def __init__(self, *, rate: float = 0.1, same_on_batch: bool = False) -> None:
        super().__init__(same_on_batch=same_on_batch)
        with checking(type(self).__name__):
            self.rate = check_probability("rate", rate)

    def _sample(self, x: Tensor, batch: int, draw: Draw) -> DropParams:
        return DropParams(dropped=draw.uniform(batch, x.shape[2]) < self.rate)

    def _transform(self, x: Tensor, params: DropParams) -> Tensor:
        return x.masked_fill(params.dropped.unsqueeze(1), 0.0)

    def _neutralize(self, params: DropParams, applied: Tensor) -> DropParams:
        return DropParams(dropped=params.dropped & applied.unsqueeze(1))

    def _repr_fields(self) -> dict[str, object]:
        return {"rate": self.rate}
