"""How long the evaluation helpers take on UTD-MHAD-sized frozen features.

The target of issue #13: `LinearProbe` fit + predict on 431 x 5,888 features (the CMC-CMKM
inertial encoder's 5,632 plus the skeleton encoder's 256, concatenated) with 27 classes in under
2 s on a 2-core CPU. By default the features are those of the two preset encoders
(``cmc_cmkm_inertial`` / ``cmc_cmkm_skeleton``, randomly initialised, not pre-trained) on the
synthetic UTD-MHAD stand-in, cut to UTD-MHAD's 431 training and 430 test sequences: correlated,
badly conditioned features like real ones, which take L-BFGS several hundred iterations.
``--features random`` uses Gaussian features with class means instead (a much easier problem).

Each figure is the wall time of one fit + predict; the first call (cold: first QR, first
L-BFGS) is printed apart from the median of the ``--repeats`` later ones. The first
`torch.optim` optimizer of a process imports ``torch._dynamo`` (a one-time cost of PyTorch,
paid by any training loop that ran before the evaluation); the script pays it up front and
prints it on its own line. ``--auto`` adds ``LinearProbe(l2="auto")`` (5-fold
cross-validation over 7 strengths) and `KNNClassifier`.

Run: ``OMP_NUM_THREADS=1 python benchmarks/bench_evaluation.py`` (``--threads`` sets
`torch.set_num_threads`; 1 is both the conservative figure and, on a machine whose cores are
busy with another job, the fastest: PyTorch's intra-op threads then wait on each other).
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import time
from collections.abc import Callable

import torch
from torch import Tensor

from mmcontrast.data import cross_subject_split, make_synthetic
from mmcontrast.encoders import presets
from mmcontrast.evaluation import KNNClassifier, LinearProbe, extract_features


def encoder_features(train: int, test: int, seed: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Preset-encoder features of the synthetic UTD-MHAD stand-in, cut to ``train``/``test``."""
    data = make_synthetic(seed=seed)
    train_side, _, test_side = data.split(cross_subject_split(data.subject))
    torch.manual_seed(seed)
    encoders = {"inertial": presets.cmc_cmkm_inertial(), "skeleton": presets.cmc_cmkm_skeleton()}
    sides = []
    for side, size in ((train_side, train), (test_side, test)):
        inputs = {"inertial": side.inertial[:size], "skeleton": side.skeleton[:size]}
        features = extract_features(encoders, inputs)
        sides += [torch.cat(list(features.values()), dim=1), side.label[:size]]
    return sides[0], sides[1], sides[2], sides[3]


def make_features(
    train: int, test: int, dim: int, classes: int, seed: int
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Random features with class structure: train/test features and labels."""
    g = torch.Generator().manual_seed(seed)
    n = train + test
    labels = torch.arange(n) % classes
    labels = labels[torch.randperm(n, generator=g)]
    centers = torch.randn(classes, dim, generator=g)
    features = (0.12 * centers[labels] + torch.randn(n, dim, generator=g)).relu()
    return features[:train], labels[:train], features[train:], labels[train:]


def time_calls(run: Callable[[], float], repeats: int) -> tuple[float, float, float]:
    """Cold time, median warm time (s) and the last accuracy."""
    start = time.perf_counter()
    run()
    cold = time.perf_counter() - start
    times, accuracy = [], 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        accuracy = run()
        times.append(time.perf_counter() - start)
    return cold, statistics.median(times), accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=431)
    parser.add_argument("--test", type=int, default=430)
    parser.add_argument("--features", choices=("encoders", "random"), default="encoders")
    parser.add_argument("--dim", type=int, default=5888, help="for --features random")
    parser.add_argument("--classes", type=int, default=27)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--auto", action="store_true", help='also l2="auto" and the kNN')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    importlib.import_module("torch._dynamo")  # what the first torch.optim optimizer imports
    dynamo_import = time.perf_counter() - start
    if args.features == "encoders":
        x, y, x_test, y_test = encoder_features(args.train, args.test, args.seed)
    else:
        x, y, x_test, y_test = make_features(
            args.train, args.test, args.dim, args.classes, args.seed
        )

    candidates: dict[str, Callable[[], object]] = {"LinearProbe()": LinearProbe}
    if args.auto:
        candidates['LinearProbe(l2="auto")'] = lambda: LinearProbe(l2="auto")
        candidates["KNNClassifier(k=20)"] = lambda: KNNClassifier(k=20)
    print(
        f"{args.features} features: {len(x)} train + {len(x_test)} test samples, "
        f"d = {x.shape[1]}, {int(y.max()) + 1} classes, {torch.get_num_threads()} thread(s), "
        f"torch {torch.__version__}"
    )
    print(f"one-time import of torch._dynamo (first torch.optim optimizer): {dynamo_import:.2f} s")
    print()
    print("| classifier | first call (s) | median of later calls (s) | test accuracy |")
    print("|---|---|---|---|")
    linear_time = linear_warm = 0.0
    for name, factory in candidates.items():

        def run(factory: Callable[[], object] = factory) -> float:
            classifier = factory()
            classifier.fit(x, y)  # type: ignore[attr-defined]
            predicted = classifier.predict(x_test)  # type: ignore[attr-defined]
            return float((predicted == y_test).double().mean())

        cold, warm, accuracy = time_calls(run, args.repeats)
        if name == "LinearProbe()":
            linear_time, linear_warm = cold, warm
        print(f"| {name} | {cold:.3f} | {warm:.3f} | {accuracy:.3f} |")
    print()
    print(
        f"LinearProbe fit + predict: first call {linear_time:.2f} s, later calls "
        f"{linear_warm:.2f} s (target < 2 s)"
    )


if __name__ == "__main__":
    main()
