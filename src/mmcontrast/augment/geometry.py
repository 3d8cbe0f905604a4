"""Rotation matrices and linear maps of 3-D coordinates (IMU triads, skeleton joints).

Re-exported by `mmcontrast.augment.functional`, the one namespace of the kernels.
"""

from __future__ import annotations

import torch
from torch import Tensor

from mmcontrast._checks import checking
from mmcontrast.augment._base import compute_dtype, expect_shape

__all__ = ["axis_angle_to_matrix", "euler_to_matrix", "linear_about", "rotate_triads"]


def axis_angle_to_matrix(axis: Tensor, angle: Tensor) -> Tensor:
    """Rotation matrices from axes and angles (Rodrigues' formula); ``angle = 0`` gives ``I``.

    Args:
        axis: rotation axes (normalised inside; a zero axis gives the identity).
        angle: angles in radians.

    Shapes:
        axis: ``"b 3"``; angle: ``"b"``; output: ``"b 3 3"``.

    Examples:
        >>> import math, torch
        >>> r = axis_angle_to_matrix(torch.tensor([[0.0, 0.0, 1.0]]), torch.tensor([math.pi / 2]))
        >>> (r[0] @ torch.tensor([1.0, 0.0, 0.0])).round(decimals=6).tolist()
        [0.0, 1.0, 0.0]
    """
    with checking("axis_angle_to_matrix"):
        expect_shape("axis", axis, (None, 3))
        expect_shape("angle", angle, (axis.shape[0],))
    unit = axis / axis.norm(dim=1, keepdim=True).clamp_min(torch.finfo(axis.dtype).tiny)
    ax, ay, az = unit.unbind(1)
    zero = torch.zeros_like(ax)
    skew = torch.stack([zero, -az, ay, az, zero, -ax, -ay, ax, zero], 1).view(-1, 3, 3)
    eye = torch.eye(3, device=axis.device, dtype=axis.dtype)
    sin = angle.sin().view(-1, 1, 1)
    versine = (1 - angle.cos()).view(-1, 1, 1)
    return eye + sin * skew + versine * (skew @ skew)


def euler_to_matrix(angles: Tensor) -> Tensor:
    """``Rx(a) @ Ry(b) @ Rz(c)`` from angles ``(a, b, c)`` in radians about x, y and z.

    Args:
        angles: one angle per axis.

    Shapes:
        angles: ``"b 3"``; output: ``"b 3 3"``.

    Examples:
        >>> import torch
        >>> torch.equal(euler_to_matrix(torch.zeros(2, 3)), torch.eye(3).expand(2, 3, 3))
        True
    """
    with checking("euler_to_matrix"):
        expect_shape("angles", angles, (None, 3))
    (ca, cb, cc), (sa, sb, sc) = angles.cos().unbind(1), angles.sin().unbind(1)
    entries = [
        cb * cc, -cb * sc, sb,
        sa * sb * cc + ca * sc, ca * cc - sa * sb * sc, -sa * cb,
        sa * sc - ca * sb * cc, sa * cc + ca * sb * sc, ca * cb,
    ]  # fmt: skip
    return torch.stack(entries, dim=1).view(-1, 3, 3)


def rotate_triads(x: Tensor, rotation: Tensor) -> Tensor:
    """Rotate every 3-axis channel triad (accelerometer, gyroscope, ...) by the same matrix.

    Args:
        x: the batch; channels ``3g .. 3g + 2`` form triad ``g``.
        rotation: one rotation matrix per sample.

    Shapes:
        x: ``"b t (g 3)"``; rotation: ``"b 3 3"``; output: ``"b t (g 3)"``.

    Examples:
        >>> import torch
        >>> x = torch.randn(2, 50, 6)
        >>> torch.equal(rotate_triads(x, torch.eye(3).expand(2, 3, 3)), x)
        True
    """
    if x.ndim != 3 or x.shape[2] % 3 != 0:
        raise ValueError(
            f'rotate_triads: x must have shape "b t (g 3)" (channels in 3-axis triads), got '
            f"{tuple(x.shape)}"
        )
    with checking("rotate_triads"):
        expect_shape("rotation", rotation, (x.shape[0], 3, 3))
    dtype = compute_dtype(x.dtype)
    triads = x.reshape(x.shape[0], -1, 3).to(dtype)
    out = triads @ rotation.to(dtype).transpose(1, 2)
    return out.reshape(x.shape).to(x.dtype)


def linear_about(
    x: Tensor, matrix: Tensor, *, pivot: int | None = None, pivot_matrix: Tensor | None = None
) -> Tensor:
    """Apply a linear map to every point, about the origin or a pivot joint of each frame.

    ``y = M (p - o) + o`` for each point ``p``, with ``o`` the origin (``pivot=None``) or joint
    ``pivot`` of the same frame. ``pivot_matrix`` generalises the last term to
    ``y = M p + K o`` (``K = I - M`` by default): `mmcontrast.augment.Compose` uses it to
    apply a product of maps about a pivot and about the origin in one pass.

    Args:
        x: the batch of skeletons.
        matrix: one matrix per sample (rotation, scaling, shear, or any product).
        pivot: joint index, or ``None`` for the origin.
        pivot_matrix: ``K``, the map applied to the pivot joint's position; only with a pivot.

    Shapes:
        x: ``"b t j c"``; matrix, pivot_matrix: ``"b c c"``; output: ``"b t j c"``.

    Examples:
        >>> import torch
        >>> x = torch.randn(2, 10, 20, 3)
        >>> y = linear_about(x, 2 * torch.eye(3).expand(2, 3, 3), pivot=0)
        >>> torch.allclose(y[:, :, 0], x[:, :, 0])
        True
        >>> torch.allclose(y, 2 * x - x[:, :, :1])
        True
    """
    if pivot is None and pivot_matrix is not None:
        raise ValueError("linear_about: pivot_matrix needs a pivot joint, got pivot=None")
    if x.ndim != 4:
        raise ValueError(f'linear_about: x must have shape "b t j c", got {tuple(x.shape)}')
    batch, frames, joints, coords = x.shape
    with checking("linear_about"):
        expect_shape("matrix", matrix, (batch, coords, coords))
        if pivot_matrix is not None:
            expect_shape("pivot_matrix", pivot_matrix, (batch, coords, coords))
    if pivot is not None and not -x.shape[2] <= pivot < x.shape[2]:
        raise ValueError(f"linear_about: pivot must index one of {x.shape[2]} joints, got {pivot}")
    dtype = compute_dtype(x.dtype)
    points = x.to(dtype)
    m_t = matrix.to(dtype).transpose(1, 2)
    out = torch.bmm(points.reshape(batch, frames * joints, coords), m_t)
    if pivot is not None:
        if pivot_matrix is None:
            eye = torch.eye(coords, device=matrix.device, dtype=dtype)
            pivot_matrix = eye - matrix.to(dtype)
        # K o is the same for every joint of a frame: one accumulating product with K^T tiled
        # along the joints, (b, t, c) @ (b, c, j c), instead of a broadcast add over the joints
        # (whose innermost extent of c = 3 elements is slow on the CPU).
        tile = torch.eye(coords, device=x.device, dtype=dtype).repeat(1, joints)  # "c (j c)"
        tiled = pivot_matrix.to(dtype).transpose(1, 2) @ tile
        out = out.view(batch, frames, joints * coords).baddbmm_(points[:, :, pivot], tiled)
    return out.view(x.shape).to(x.dtype)
