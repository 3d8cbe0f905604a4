"""The kernels against independent references written from their definitions."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mmcontrast.augment import functional as AF


def _rng(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _interp(x: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Per-sample linear interpolation along time with numpy (clamped at the ends)."""
    batch, length = x.shape[:2]
    flat = x.reshape(batch, length, -1)
    out = np.empty((batch, positions.shape[1], flat.shape[2]))
    for b in range(batch):
        for f in range(flat.shape[2]):
            out[b, :, f] = np.interp(positions[b], np.arange(length), flat[b, :, f])
    return out.reshape(batch, positions.shape[1], *x.shape[2:])


def test_resample_time_matches_numpy_interp() -> None:
    x = torch.randn(3, 9, 4, 2, generator=_rng(), dtype=torch.float64)
    positions = torch.rand(3, 13, generator=_rng(1), dtype=torch.float64) * 10 - 0.5
    expected = _interp(x.numpy(), positions.numpy())
    torch.testing.assert_close(AF.resample_time(x, positions), torch.from_numpy(expected))


def test_resample_time_at_integer_positions_is_exact() -> None:
    x = torch.randn(2, 7, 3, generator=_rng())
    positions = torch.tensor([[6.0, 0.0, 3.0], [1.0, 1.0, 5.0]])
    expected = torch.stack([x[0, [6, 0, 3]], x[1, [1, 1, 5]]])
    assert torch.equal(AF.resample_time(x, positions), expected)


def test_crop_resize_matches_its_definition() -> None:
    x = torch.randn(4, 11, 3, generator=_rng(), dtype=torch.float64)
    start = torch.tensor([0.0, 0.1, 0.25, 0.05], dtype=torch.float64)
    extent = torch.tensor([1.0, 0.8, 0.5, 0.95], dtype=torch.float64)
    size = 7
    u = np.linspace(0.0, 1.0, size)
    positions = (start.numpy()[:, None] + extent.numpy()[:, None] * u) * 10
    expected = torch.from_numpy(_interp(x.numpy(), positions))
    torch.testing.assert_close(AF.crop_resize(x, start, extent, size=size), expected)
    one = AF.crop_resize(x, start, extent, size=1)
    centre = torch.from_numpy(_interp(x.numpy(), (start + extent / 2).numpy()[:, None] * 10))
    torch.testing.assert_close(one, centre)
    full = torch.zeros(4, dtype=torch.float64), torch.ones(4, dtype=torch.float64)
    assert torch.equal(AF.crop_resize(x, *full), x)


def test_time_warp_follows_the_piecewise_linear_map() -> None:
    x = torch.randn(2, 21, 3, generator=_rng(), dtype=torch.float64)
    knots = torch.tensor([[0.0, 0.1, 0.6, 1.0], [0.0, 0.5, 0.5, 1.0]], dtype=torch.float64)
    u = np.linspace(0.0, 1.0, 21)
    grid = np.linspace(0.0, 1.0, 4)
    tau = np.stack([np.interp(u, grid, k) for k in knots.numpy()])
    expected = torch.from_numpy(_interp(x.numpy(), tau * 20))
    torch.testing.assert_close(AF.time_warp(x, knots), expected)
    identity = AF.normalised_time(4, device=x.device, dtype=x.dtype).expand(2, 4)
    assert torch.equal(AF.time_warp(x, identity), x)


def test_time_mask_masks_the_normalised_interval() -> None:
    x = torch.ones(2, 11, 2)
    start = torch.tensor([[0.0, 0.75], [0.3, 0.3]])
    extent = torch.tensor([[0.2, 0.1], [0.0, 0.0]])
    out = AF.time_mask(x, start, extent, value=-1.0)
    u = torch.linspace(0, 1, 11)
    first = ((u >= 0) & (u < 0.2)) | ((u >= 0.75) & (u < 0.85))
    assert torch.equal(out[0, :, 0] == -1, first)
    assert torch.equal(out[1], x[1])


def _segment_reference(x: np.ndarray, cuts: np.ndarray, order: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    length = x.shape[1]
    for b in range(x.shape[0]):
        bounds = [0, *[math.floor(c * length + 0.5) for c in cuts[b]], length]
        pieces = [x[b, bounds[k] : bounds[k + 1]] for k in range(len(bounds) - 1)]
        out[b] = np.concatenate([pieces[k] for k in order[b]], axis=0)
    return out


def test_segment_permute_matches_a_loop() -> None:
    x = torch.randn(4, 10, 2, 3, generator=_rng())
    cuts = torch.tensor([[0.2, 0.5, 1.0], [0.0, 0.33, 0.9], [1.0, 1.0, 1.0], [0.1, 0.1, 0.7]])
    order = torch.stack([torch.randperm(4, generator=_rng(s)) for s in range(4)])
    expected = _segment_reference(x.numpy(), cuts.numpy(), order.numpy())
    assert torch.equal(AF.segment_permute(x, cuts, order), torch.from_numpy(expected))
    assert torch.equal(AF.segment_permute(x, cuts, torch.arange(4).expand(4, 4)), x)


def test_segment_permute_matches_a_loop_on_random_cuts() -> None:
    g = _rng(5)
    for pieces in (1, 2, 3, 5):
        x = torch.randn(16, 13, 2, generator=g)
        cuts = torch.rand(16, pieces - 1, generator=g)
        cuts = torch.where(torch.rand(16, pieces - 1, generator=g) < 0.3, 1.0, cuts)  # unused
        cuts = torch.where(torch.rand(16, pieces - 1, generator=g) < 0.2, 0.0, cuts)  # empty
        cuts = cuts.sort(dim=1).values
        order = torch.argsort(torch.rand(16, pieces, generator=g), dim=1)
        expected = _segment_reference(x.numpy(), cuts.numpy(), order.numpy())
        assert torch.equal(AF.segment_permute(x, cuts, order), torch.from_numpy(expected))


def test_time_kernels_on_empty_batches_and_features() -> None:
    for shape in [(0, 6, 3), (2, 6, 0), (2, 6, 4, 0)]:
        x = torch.randn(shape)
        positions = torch.rand(shape[0], 4) * 5
        assert AF.resample_time(x, positions).shape == (shape[0], 4, *shape[2:])
        order = torch.arange(2).expand(shape[0], 2)
        assert AF.segment_permute(x, torch.full((shape[0], 1), 0.5), order).shape == shape


def test_resample_time_in_half_precision_is_computed_in_float32() -> None:
    x = torch.randn(3, 9, 5, generator=_rng())
    positions = torch.rand(3, 7, generator=_rng(1)) * 8
    out = AF.resample_time(x.half(), positions)
    assert out.dtype == torch.float16
    assert torch.equal(out, AF.resample_time(x.half().float(), positions).half())


def _catmull_rom(values: np.ndarray, u: float) -> float:
    segments = len(values) - 1
    s = u * segments
    k = min(int(math.floor(s)), segments - 1)
    f = s - k
    p = [values[min(max(i, 0), segments)] for i in (k - 1, k, k + 1, k + 2)]
    return 0.5 * (
        2 * p[1]
        + (-p[0] + p[2]) * f
        + (2 * p[0] - 5 * p[1] + 4 * p[2] - p[3]) * f**2
        + (-p[0] + 3 * p[1] - 3 * p[2] + p[3]) * f**3
    )


def test_magnitude_warp_is_a_catmull_rom_curve_through_the_knots() -> None:
    x = torch.randn(2, 17, 3, generator=_rng(), dtype=torch.float64)
    knots = 1 + 0.3 * torch.randn(2, 5, 3, generator=_rng(1), dtype=torch.float64)
    u = np.linspace(0.0, 1.0, 17)
    curve = np.array(
        [[[_catmull_rom(knots[b, :, c].numpy(), t) for c in range(3)] for t in u] for b in range(2)]
    )
    torch.testing.assert_close(AF.magnitude_warp(x, knots), x * torch.from_numpy(curve))
    on_knots = AF.magnitude_warp(torch.ones(2, 17, 3, dtype=torch.float64), knots)[:, ::4]
    torch.testing.assert_close(on_knots, knots)  # the curve passes through the knots


def test_kernels_pass_gradcheck() -> None:
    def leaf(*shape: int, scale: float = 1.0) -> torch.Tensor:
        t = torch.rand(*shape, generator=_rng(sum(shape)), dtype=torch.float64) * scale
        return t.requires_grad_(True)

    x3, x4 = leaf(2, 6, 3), leaf(2, 5, 4, 3)
    positions = (torch.rand(2, 7, dtype=torch.float64) * 4.6 + 0.2).requires_grad_(True)
    checks = [
        (lambda x, p: AF.resample_time(x, p), (x4, positions)),
        (lambda x: AF.crop_resize(x, torch.tensor([0.1, 0.2]), torch.tensor([0.7, 0.53])), (x3,)),
        (lambda x, k: AF.magnitude_warp(x, k), (x3, leaf(2, 4, 3))),
        (lambda x, r: AF.rotate_triads(x, r), (x3, leaf(2, 3, 3))),
        (lambda x, m: AF.linear_about(x, m, pivot=1), (x4, leaf(2, 3, 3))),
        (lambda a, t: AF.axis_angle_to_matrix(a, t), (leaf(2, 3), leaf(2))),
        (
            lambda x: AF.time_mask(x, torch.tensor([[0.2], [0.5]]), torch.tensor([[0.3], [0.1]])),
            (x3,),
        ),
    ]
    for fn, inputs in checks:
        assert torch.autograd.gradcheck(fn, inputs, fast_mode=True)


def test_bad_shapes() -> None:
    x = torch.randn(2, 5, 3)
    with pytest.raises(
        ValueError, match=r"^resample_time: positions must have shape \(2, \*\), got \(3, 4\)"
    ):
        AF.resample_time(x, torch.zeros(3, 4))
    with pytest.raises(ValueError, match=r'^crop_resize: x must have shape "b t \.\.\."'):
        AF.crop_resize(torch.randn(4), torch.zeros(4), torch.ones(4))
    with pytest.raises(ValueError, match="^crop_resize: size must be >= 1, got 0"):
        AF.crop_resize(x, torch.zeros(2), torch.ones(2), size=0)
    with pytest.raises(ValueError, match="^time_warp: knots needs at least 2 columns"):
        AF.time_warp(x, torch.zeros(2, 1))
    with pytest.raises(ValueError, match=r"^segment_permute: cuts must have shape \(2, 2\)"):
        AF.segment_permute(x, torch.zeros(2, 1), torch.zeros(2, 3, dtype=torch.long))
    with pytest.raises(ValueError, match=r'^rotate_triads: x must have shape "b t \(g 3\)"'):
        AF.rotate_triads(torch.randn(2, 5, 4), torch.eye(3).expand(2, 3, 3))
    with pytest.raises(ValueError, match="^linear_about: pivot must index one of 4 joints, got 4"):
        AF.linear_about(torch.randn(2, 3, 4, 3), torch.eye(3).expand(2, 3, 3), pivot=4)
    with pytest.raises(ValueError, match=r"^magnitude_warp: knots must have shape \(2, \*, 3\)"):
        AF.magnitude_warp(x, torch.ones(2, 4, 2))
