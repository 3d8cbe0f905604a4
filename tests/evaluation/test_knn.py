from __future__ import annotations

import math
import pickle

import pytest
import torch
from torch import Tensor

from mmcontrast.evaluation import KNNClassifier


def _data(
    n: int, queries: int, d: int = 6, classes: int = 4, *, seed: int = 0
) -> tuple[Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, classes, (n,), generator=g)
    means = torch.randn(classes, d, generator=g, dtype=torch.float64)
    bank = means[labels] + torch.randn(n, d, generator=g, dtype=torch.float64)
    query = torch.randn(queries, d, generator=g, dtype=torch.float64)
    return bank, labels, query


def _reference_knn(
    bank: Tensor, labels: Tensor, query: Tensor, k: int, temperature: float, classes: int
) -> Tensor:
    """Wu et al.'s weighted vote, one query at a time in plain Python floats."""
    rows = []
    for q in query.tolist():
        q_norm = math.sqrt(sum(v * v for v in q))
        sims = []
        for b, label in zip(bank.tolist(), labels.tolist(), strict=True):
            b_norm = math.sqrt(sum(v * v for v in b))
            sims.append((sum(u * v for u, v in zip(q, b, strict=True)) / (q_norm * b_norm), label))
        sims.sort(key=lambda item: -item[0])
        votes = [0.0] * classes
        for sim, label in sims[: min(k, len(sims))]:
            votes[label] += math.exp(sim / temperature)
        total = sum(votes)
        rows.append([v / total for v in votes])
    return torch.tensor(rows, dtype=torch.float64)


@pytest.mark.parametrize(("k", "temperature"), [(1, 0.07), (5, 0.07), (20, 0.5), (7, 2.0)])
def test_matches_the_reference_loop(k: int, temperature: float) -> None:
    bank, labels, query = _data(40, 9)
    knn = KNNClassifier(k=k, temperature=temperature).fit(bank, labels)
    expected = _reference_knn(bank, labels, query, k, temperature, 4)
    torch.testing.assert_close(knn.predict_proba(query), expected, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(knn.predict(query), expected.argmax(dim=1))


def test_chunking_gives_the_same_result() -> None:
    bank, labels, query = _data(50, 23, seed=1)
    expected = KNNClassifier(k=7, chunk_size=1000).fit(bank, labels).predict_proba(query)
    for chunk_size in (1, 4, 23):
        knn = KNNClassifier(k=7, chunk_size=chunk_size).fit(bank, labels)
        torch.testing.assert_close(knn.predict_proba(query), expected, rtol=1e-12, atol=1e-14)


def test_k_larger_than_the_bank_is_clipped() -> None:
    bank, labels, query = _data(6, 5, seed=2)
    clipped = KNNClassifier(k=100).fit(bank, labels).predict_proba(query)
    torch.testing.assert_close(clipped, KNNClassifier(k=6).fit(bank, labels).predict_proba(query))
    torch.testing.assert_close(clipped, _reference_knn(bank, labels, query, 6, 0.07, 4))


def test_small_temperature_is_finite_and_nearest_neighbour() -> None:
    bank, labels, query = _data(30, 12, seed=3)
    proba = KNNClassifier(k=10, temperature=1e-4).fit(bank, labels).predict_proba(query)
    assert torch.isfinite(proba).all()
    nearest = KNNClassifier(k=1).fit(bank, labels).predict(query)
    torch.testing.assert_close(proba.argmax(dim=1), nearest)


def test_cosine_is_scale_invariant_and_classes_pad() -> None:
    bank, labels, query = _data(30, 8, seed=4)
    knn = KNNClassifier(num_classes=6).fit(bank, labels)
    proba = knn.predict_proba(query)
    assert proba.shape == (8, 6) and torch.all(proba[:, 4:] == 0)
    torch.testing.assert_close(knn.predict_proba(5.0 * query), proba)
    torch.testing.assert_close(knn.fit(0.1 * bank, labels).predict_proba(query), proba)


def test_float32_deterministic_and_pickle(device: torch.device) -> None:
    bank, labels, query = (t.to(device) for t in _data(64, 16, seed=5))
    knn = KNNClassifier(k=5, chunk_size=5).fit(bank.float(), labels)
    proba = knn.predict_proba(query.float())
    assert proba.dtype == torch.float32 and proba.device == query.device
    torch.testing.assert_close(knn.predict_proba(query.float()), proba, rtol=0, atol=0)
    clone = pickle.loads(pickle.dumps(knn))
    torch.testing.assert_close(clone.predict_proba(query.float()), proba, rtol=0, atol=0)


def test_fit_detaches_and_copies_the_labels() -> None:
    bank, labels, query = _data(20, 4, seed=6)
    bank.requires_grad_(True)
    knn = KNNClassifier(k=3).fit(bank, labels)
    expected = knn.predict_proba(query)
    assert not expected.requires_grad
    labels[:] = 0  # the caller's tensor changes afterwards
    torch.testing.assert_close(knn.predict_proba(query), expected)


def test_repr() -> None:
    assert repr(KNNClassifier()) == (
        "KNNClassifier(k=20, temperature=0.07, chunk_size=256, num_classes=None)"
    )


def test_bad_arguments_and_inputs() -> None:
    with pytest.raises(ValueError, match="^KNNClassifier: k must be >= 1, got 0"):
        KNNClassifier(k=0)
    with pytest.raises(TypeError, match="^KNNClassifier: k must be an int, got float"):
        KNNClassifier(k=2.0)  # type: ignore[arg-type]
    with pytest.raises(
        ValueError, match=r"^KNNClassifier: temperature must be in \(0, inf\), got 0"
    ):
        KNNClassifier(temperature=0)
    with pytest.raises(ValueError, match="^KNNClassifier: chunk_size must be >= 1, got 0"):
        KNNClassifier(chunk_size=0)
    with pytest.raises(TypeError, match="^KNNClassifier: num_classes must be an int or None"):
        KNNClassifier(num_classes="4")  # type: ignore[arg-type]
    bank, labels, query = _data(10, 3)
    knn = KNNClassifier()
    with pytest.raises(RuntimeError, match=r"^KNNClassifier: call fit\(features, labels\) first"):
        knn.predict(query)
    with pytest.raises(ValueError, match=r'^KNNClassifier: labels must have shape "b" = \(10,\)'):
        knn.fit(bank, labels[:9])
    with pytest.raises(ValueError, match=r"^KNNClassifier: labels must lie in \[0, 2\)"):
        KNNClassifier(num_classes=2).fit(bank, labels + 2)
    knn.fit(bank, labels)
    with pytest.raises(
        ValueError, match=r'^KNNClassifier: features must have shape "b d" with d=6'
    ):
        knn.predict(query[:, :5])
    with pytest.raises(TypeError, match="^KNNClassifier: features must be a floating-point"):
        knn.predict(query.long())
