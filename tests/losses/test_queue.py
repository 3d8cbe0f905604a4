from __future__ import annotations

import pytest
import torch

from mmcontrast.losses import EmbeddingQueue, HardNegativeLoss, InfoNCE
from mmcontrast.losses.queue import NO_ID


def test_push_is_first_in_first_out_and_normalises() -> None:
    queue = EmbeddingQueue(size=5, dim=3)
    first = torch.arange(12.0).view(4, 3) + 1
    queue.push(first, 2 * first, labels=torch.tensor([1, 2, 3, 4]))
    state = queue.state()
    torch.testing.assert_close(state.keys_a[:4].norm(dim=1), torch.ones(4))
    assert state.filled.tolist() == [True] * 4 + [False]
    queue.push(-first[:3], -first[:3], groups=torch.tensor([7, 8, 9]))
    state = queue.state()
    assert int(queue.pointer) == 2
    # Slot 4 and the wrapped slots 0, 1 hold the second batch; slots 2, 3 the first.
    assert state.labels.tolist() == [NO_ID, NO_ID, 3, 4, NO_ID]
    assert state.groups.tolist() == [8, 9, NO_ID, NO_ID, 7]
    assert state.filled.all()


def test_batch_larger_than_queue_keeps_the_last_rows() -> None:
    queue = EmbeddingQueue(size=2, dim=2)
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    queue.push(x, x, labels=torch.tensor([0, 1, 2]))
    assert queue.state().labels.tolist() == [1, 2]


def test_loss_pushes_in_training_mode_only_and_uses_entries() -> None:
    g = torch.Generator().manual_seed(0)
    queue = EmbeddingQueue(size=16, dim=4)
    criterion = HardNegativeLoss(queue=queue)
    a, b = torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g)
    empty = criterion.terms(a, b)
    assert empty.num_negatives.tolist() == [5] * 12
    criterion(a, b)
    assert int(queue.pointer) == 6
    full = criterion.terms(a, b)
    assert full.num_negatives.tolist() == [11] * 12
    criterion.eval()
    criterion(a, b)
    assert int(queue.pointer) == 6  # no push in eval mode


def test_queue_state_follows_the_module() -> None:
    criterion = InfoNCE(queue=EmbeddingQueue(8, 4))
    assert set(criterion.state_dict()) == {
        "queue.keys_a", "queue.keys_b", "queue.labels", "queue.groups", "queue.filled",
        "queue.pointer",
    }  # fmt: skip
    criterion.to(torch.float64)
    assert criterion.queue is not None and criterion.queue.keys_a.dtype == torch.float64


def test_queue_errors() -> None:
    queue = EmbeddingQueue(4, 3)
    with pytest.raises(ValueError, match=r'push: a must have shape "b d" with d=3, got \(2, 4\)'):
        queue.push(torch.zeros(2, 4), torch.zeros(2, 4))
    with pytest.raises(ValueError, match=r'labels must have shape "b" = \(2,\)'):
        queue.push(torch.zeros(2, 3), torch.zeros(2, 3), labels=torch.zeros(3, dtype=torch.long))
    with pytest.raises(TypeError, match="labels must have an integer or bool dtype"):
        queue.push(torch.zeros(2, 3), torch.zeros(2, 3), labels=torch.zeros(2))
    with pytest.raises(TypeError, match="groups must be a torch.Tensor"):
        queue.push(torch.zeros(2, 3), torch.zeros(2, 3), groups=[1, 2])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="size must be >= 1"):
        EmbeddingQueue(0, 3)
    with pytest.raises(TypeError, match="queue must be an EmbeddingQueue"):
        InfoNCE(queue="big")  # type: ignore[arg-type]
