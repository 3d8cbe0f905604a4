from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

from mmcontrast.data import Windows, sliding_windows


def _reference_windows(
    recordings: list[torch.Tensor],
    labels: list[torch.Tensor] | None,
    *,
    window: int,
    hop: int,
    purity: float,
    groups: list[int] | None,
) -> Windows:
    """A plain loop over every window start: slice, count labels, keep or drop."""
    cut, starts, majority, group_ids, origin, dropped = [], [], [], [], [], 0
    for k, x in enumerate(recordings):
        for start in range(0, len(x) - window + 1, hop):
            label = None
            if labels is not None:
                counts: dict[int, int] = {}
                for value in labels[k][start : start + window].tolist():
                    counts[value] = counts.get(value, 0) + 1
                best = max(counts.values())
                label = min(value for value, n in counts.items() if n == best)
                if best < math.ceil(round(purity * window, 9)):
                    dropped += 1
                    continue
                majority.append(label)
            cut.append(x[start : start + window])
            starts.append(start)
            group_ids.append(k if groups is None else groups[k])
            origin.append(k)
    shape = (0, window, *recordings[0].shape[1:])
    return Windows(
        windows=torch.stack(cut) if cut else recordings[0].new_empty(shape),
        starts=torch.tensor(starts, dtype=torch.long),
        labels=None if labels is None else torch.tensor(majority, dtype=torch.long),
        groups=torch.tensor(group_ids, dtype=torch.long),
        recordings=torch.tensor(origin, dtype=torch.long),
        dropped=dropped,
    )


def _segments(length: int, classes: int, generator: torch.Generator) -> torch.Tensor:
    """Per-sample labels in runs of random length, like activities in a recording."""
    runs = torch.randint(1, 25, (length,), generator=generator)
    values = torch.randint(-1, classes, (length,), generator=generator)
    return torch.repeat_interleave(values, runs)[:length]


def _assert_same(got: Windows, want: Windows) -> None:
    torch.testing.assert_close(got.windows, want.windows, rtol=0, atol=0)
    for name in ("starts", "groups", "recordings"):
        assert torch.equal(getattr(got, name), getattr(want, name)), name
    if want.labels is None:
        assert got.labels is None
    else:
        assert got.labels is not None and torch.equal(got.labels, want.labels)
    assert got.dropped == want.dropped


@pytest.mark.parametrize("window", [1, 7, 16])
@pytest.mark.parametrize("hop", [1, 5, 16, 23])
@pytest.mark.parametrize("purity", [0.3, 0.5, 0.7, 0.9, 1.0])
def test_matches_a_plain_loop_over_windows(window: int, hop: int, purity: float) -> None:
    g = torch.Generator().manual_seed(window * 100 + hop)
    lengths = [120, 3, 57, 16]  # the 3-sample recording is shorter than some windows
    recordings = [torch.randn(n, 6, generator=g, dtype=torch.float64) for n in lengths]
    labels = [_segments(n, 4, g) for n in lengths]
    groups = [5, 5, 8, 2]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        got = sliding_windows(
            recordings, labels, window=window, hop=hop, purity=purity, groups=groups
        )
    want = _reference_windows(
        recordings, labels, window=window, hop=hop, purity=purity, groups=groups
    )
    _assert_same(got, want)


@pytest.mark.parametrize("hop", [1, 4, 9])
def test_skeletons_and_unlabelled_recordings(hop: int) -> None:
    g = torch.Generator().manual_seed(hop)
    recordings = [torch.randn(40, 20, 3, generator=g), torch.randn(25, 20, 3, generator=g)]
    got = sliding_windows(recordings, window=10, hop=hop)
    want = _reference_windows(recordings, None, window=10, hop=hop, purity=1.0, groups=None)
    _assert_same(got, want)
    assert got.windows.shape[1:] == (10, 20, 3) and got.windows.is_contiguous()
    single = sliding_windows(recordings[0], window=10, hop=hop, groups=3)
    assert single.groups.unique().tolist() == [3] and single.recordings.unique().tolist() == [0]


def test_purity_threshold_is_the_ceiling_without_float_artefacts() -> None:
    x = torch.zeros(10, 1)
    labels = torch.tensor([0] * 7 + [1] * 3)  # majority 7 of 10
    assert len(sliding_windows(x, labels, window=10, hop=1, purity=0.7).windows) == 1
    assert sliding_windows(x, labels, window=10, hop=1, purity=0.71).dropped == 1
    tie = torch.tensor([3] * 5 + [2] * 5)
    cut = sliding_windows(x, tie, window=10, hop=1, purity=0.5)
    assert cut.labels is not None and cut.labels.tolist() == [2]  # ties: the smallest label


def test_outputs_are_new_tensors_in_the_input_dtype() -> None:
    x = torch.randn(30, 6, dtype=torch.float64)
    cut = sliding_windows(x, window=10, hop=10)
    assert cut.windows.dtype == torch.float64 and cut.starts.tolist() == [0, 10, 20]
    cut.windows[0, 0, 0] = 1e6
    assert x[0, 0] != 1e6
    assert cut.starts.dtype == cut.groups.dtype == cut.recordings.dtype == torch.long


def test_numpy_input_including_read_only_arrays() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 3)).astype(np.float32)
    labels = np.repeat(np.array([4, 7], dtype=np.int16), 25)
    x.setflags(write=False)
    cut = sliding_windows(x, labels, window=10, hop=5)
    assert cut.windows.dtype == torch.float32
    assert cut.labels is not None and cut.labels.tolist() == [4] * 4 + [7] * 4
    assert cut.dropped == 1  # the window at 20 straddles the change
    np.testing.assert_array_equal(cut.windows[0].numpy(), x[:10])
    grouped = sliding_windows([x, x], [labels, labels], window=10, hop=5, groups=np.array([3, 4]))
    assert grouped.groups.unique().tolist() == [3, 4]


def test_short_recordings_warn_and_give_empty_results() -> None:
    with pytest.warns(UserWarning, match=r"1 of 2 recordings are shorter than window=10.*x\[1\] "):
        cut = sliding_windows([torch.zeros(12, 2), torch.zeros(4, 2)], window=10, hop=1)
    assert cut.recordings.tolist() == [0, 0, 0]
    with pytest.warns(UserWarning, match=r"x \(4 samples\)"):
        empty = sliding_windows(
            torch.zeros(4, 20, 3), torch.zeros(4, dtype=torch.long), window=10, hop=1
        )
    assert empty.windows.shape == (0, 10, 20, 3) and empty.dropped == 0
    assert empty.labels is not None and empty.labels.shape == (0,)
    assert empty.starts.shape == empty.groups.shape == (0,)


def test_validation_messages() -> None:
    x = torch.zeros(20, 6)
    labels = torch.zeros(20, dtype=torch.long)
    with pytest.raises(ValueError, match="window must be >= 1, got 0"):
        sliding_windows(x, window=0, hop=1)
    with pytest.raises(TypeError, match="hop must be an int, got float"):
        sliding_windows(x, window=5, hop=2.0)  # type: ignore[arg-type]
    for purity in (0.0, 1.5, float("nan")):
        with pytest.raises(ValueError, match=r"purity must be in \(0, 1\]"):
            sliding_windows(x, labels, window=5, hop=1, purity=purity)
    with pytest.raises(ValueError, match="purity=0.8 needs labels"):
        sliding_windows(x, window=5, hop=1, purity=0.8)
    with pytest.raises(ValueError, match=r'x must have shape "t c" or "t j c", got \(20,\)'):
        sliding_windows(torch.zeros(20), window=5, hop=1)
    with pytest.raises(TypeError, match="x must be a floating-point tensor, got torch.int64"):
        sliding_windows(torch.zeros(20, 6, dtype=torch.long), window=5, hop=1)
    with pytest.raises(TypeError, match="must be a torch.Tensor or a NumPy array"):
        sliding_windows([[0.0, 1.0]], window=5, hop=1)  # type: ignore[list-item]
    with pytest.raises(ValueError, match="x must hold at least one recording"):
        sliding_windows([], window=5, hop=1)
    with pytest.raises(
        ValueError, match=r'labels must have shape "t" = \(20,\) like x, got \(19,\)'
    ):
        sliding_windows(x, labels[:19], window=5, hop=1)
    with pytest.raises(TypeError, match="labels must have an integer dtype, got torch.float32"):
        sliding_windows(x, labels.float(), window=5, hop=1)
    with pytest.raises(ValueError, match=r"x\[1\] is \(20, 3\) and x\[0\] is \(20, 6\)"):
        sliding_windows([x, torch.zeros(20, 3)], window=5, hop=1)
    with pytest.raises(TypeError, match=r"x\[1\] is torch.float64 and x\[0\] is torch.float32"):
        sliding_windows([x, x.double()], window=5, hop=1)
    with pytest.raises(ValueError, match=r"one \"t\" array per recording \(2\), got 1 entries"):
        sliding_windows([x, x], [labels], window=5, hop=1)
    with pytest.raises(
        ValueError, match=r"labels\[1\] must have shape \"t\" = \(20,\) like x\[1\]"
    ):
        sliding_windows([x, x], [labels, labels[:3]], window=5, hop=1)
    with pytest.raises(ValueError, match=r"groups must hold one id per recording \(2\)"):
        sliding_windows([x, x], window=5, hop=1, groups=[1])
    with pytest.raises(TypeError, match="groups must be an int, got list"):
        sliding_windows(x, window=5, hop=1, groups=[1])
