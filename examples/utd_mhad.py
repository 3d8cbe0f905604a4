"""The papers' UTD-MHAD protocol as a command line: pre-train, fine-tune, score, write JSON.

One run = one method, one evaluation mode, one label fraction and one seed:

    python examples/utd_mhad.py --method hnl --eval inertial --label-fraction 0.05 --seed 0
    python examples/utd_mhad.py --method cmkm --root ../shared/data/utd_mhad --out cmkm.json

Without ``--root`` it runs on `mmcontrast.data.make_synthetic` (a paired IMU + skeleton set
named and split like UTD-MHAD): the same protocol, but **not** a reproduction of any paper.

Methods (``--method``); every contrastive method pre-trains on the training subjects without
labels, then the labelled subset trains the evaluation model (``--pipeline``):

* ``supervised``: the same encoders and head trained from scratch on the labelled subset.
* ``simclr``: one encoder per modality, NT-Xent on two augmented views of that modality
  (the CMC-CMKM SimCLR configurations: inertial tau 0.05, batch 128; skeleton tau 0.5, batch 32).
* ``cmc``: cross-modal `InfoNCE` (tau 0.1), one augmented view per modality.
* ``debiased``: cross-modal `DebiasedContrastiveLoss` (tau 0.3, chosen on the validation
  subject; tau+ 0.037).
* ``hnl``: cross-modal `HardNegativeLoss` (tau 0.1, beta 1, tau+ 0.037; the hard-negative
  paper's Table 1, with the intended negative count N = B - 1).
* ``cmkm``: `CMKMLoss` (tau 0.1, k 1, intra-modal negatives with the released code's
  temperature 1); its teachers are the SimCLR encoders above, trained first and cached.
* ``clmm``: **this project's CLMM-inspired design, not a reproduction of CLMM** (Jing et al.
  2026; only its abstract is public): CNN-DiffTransformer encoders, `InfoNCE` with
  `HardPositiveWeighting` (beta 2, warmed up over the first 10 % of the steps), then the
  two-stage classifier (`build_two_stage_classifier`) with a Hopkins quality prior.

Evaluation (``--eval``): ``multimodal`` (both encoders), ``inertial`` or ``skeleton`` (that
modality's encoder and head; for the cross-modal methods the encoder was still pre-trained
with both modalities). The protocol is
cross-subject: odd subjects train, even subjects test (``--protocol cmc-cmkm``: subjects 1, 3,
5 train, 7 validates and picks the fine-tuning epoch, 2, 4, 6, 8 test).

Evaluation pipeline (``--pipeline``) of the pre-trained encoders: ``frozen`` (default: the
papers' frozen encoders and MLP head), ``probe`` (`mmcontrast.evaluation.LinearProbe` on
the frozen features) or ``finetune`` (encoders and head end to end, the encoders at
``--encoder-lr-scale`` times the head's rate). The head of these pipelines and of
``supervised`` (``--head``): with both modalities, ``late`` by default
(`LateFusionClassifier`: one head per modality, each trained on its own cross-entropy, the
classes scored by their mean log-probability), or ``concat``, the papers' head (per-modality
``Linear -> BN -> ReLU`` blocks, concatenated, one linear classifier). With one modality the
two are the same head.

The defaults are the recommended recipe, chosen on the validation subject
(``docs/scripts/recipe_search.py``, ``docs/scripts/validation_table.py``,
``docs/results.md``): ``--method debiased`` (level with ``cmkm`` on the validation subject,
well ahead of ``hnl``, and without CMKM's teachers) with tau 0.3 instead of the papers'
0.1, ``--head late`` for two modalities, and the IMU channels are standardised with the
training subjects' statistics and augmented with `standardized_inertial_augment` (noise 0.05,
scaling 0.1, segment permutation, no channel shuffle). ``--no-normalize-inertial`` restores
raw g and deg/s with the papers' IMU augmentations, whose sigma of 1 in raw units drowns the
accelerometer and barely touches the gyroscope.

``--temperature`` (the cross-modal loss's tau: 0.3 for ``debiased``, the papers' 0.1 for the
others) and ``--tau-plus`` (the class prior of
``debiased`` and ``hnl``, 0.037) change the loss for a sweep on the validation subject;
``--plateau PATIENCE`` halves the pre-training rate when the loss stalls (the papers'
schedule, patience 20; the default is a constant rate); ``--features projection`` lets the
frozen head or the probe read the 128-d projections the loss saw instead of the encoders'
features, and ``--features pooled`` the IMU encoder's time steps averaged instead of
flattened.

Pre-trained encoders (and the CMKM teachers) are cached on disk, keyed by their whole
configuration and a hash of the training data, so runs that differ only in ``--eval`` or
``--label-fraction`` pre-train once (``--no-cache`` disables it). Every stage is seeded from
``--seed``, so a run gives the same numbers whether its encoders were cached or not (for a
given number of threads). Everything is documented in ``docs/results.md``.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import math
import os
import platform
import re
import shlex
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

import mmcontrast
from mmcontrast.augment.presets import (
    cmc_cmkm_inertial_augment,
    cmc_cmkm_skeleton_augment,
    cmc_cmkm_supervised_skeleton_augment,
    standardized_inertial_augment,
)
from mmcontrast.data import (
    PairedDataset,
    Standardizer,
    cross_subject_split,
    label_fraction_subset,
    load_utd_mhad,
    make_synthetic,
)
from mmcontrast.encoders import presets
from mmcontrast.evaluation import LinearProbe, classification_scores, extract_features
from mmcontrast.fusion import quality_prior
from mmcontrast.heads import LateFusionClassifier, ProjectionHead
from mmcontrast.losses import (
    CMKMLoss,
    DebiasedContrastiveLoss,
    HardNegativeLoss,
    HardPositiveWeighting,
    InfoNCE,
    linear_warmup,
)
from mmcontrast.recipes import (
    ContrastivePretrainer,
    FineTuneClassifier,
    SimCLRPretrainer,
    build_two_stage_classifier,
    concat_classifier,
    finetune_step,
    freeze,
    predict,
    prepare_fast_training,
)

METHODS = ("supervised", "simclr", "cmc", "debiased", "hnl", "cmkm", "clmm")
EVALS = ("multimodal", "inertial", "skeleton")
PIPELINES = ("frozen", "probe", "finetune")
HEADS = ("concat", "late")
FEATURES = ("encoder", "projection", "pooled")
MODALITIES = ("inertial", "skeleton")
CACHE_FORMAT = 2  # bump to invalidate every cached encoder
CLMM_NOTE = (
    "clmm is this project's CLMM-inspired design (CNN-DiffTransformer encoders, hard-positive "
    "weighting, two-stage classifier), not a reproduction of CLMM (Jing et al. 2026), whose "
    "equations and code are not public"
)

# The CMC-CMKM SimCLR configurations for UTD-MHAD (reference/losses.md §9a): the unimodal
# baselines and the CMKM teachers.
SIMCLR = {
    "inertial": {"temperature": 0.05, "batch_size": 128},
    "skeleton": {"temperature": 0.5, "batch_size": 32},
}
HNL = {"temperature": 0.1, "beta": 1.0, "tau_plus": 0.037}  # the paper's Table 1, UTD-MHAD
CROSS_MODAL = ("cmc", "debiased", "hnl", "cmkm", "clmm")  # the methods with one cross-modal loss
CROSS_MODAL_TEMPERATURE = 0.1  # every cross-modal loss of the papers (and of `clmm`)
RECIPE_TEMPERATURE = 0.3  # `debiased`, the recommended recipe: chosen on the validation subject
CLMM_BETA = 2.0  # hard-positive concentration on the cosine (architectures.md §4.3 b)


# --------------------------------------------------------------------------- command line
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="utd_mhad.py",
        description="UTD-MHAD cross-subject protocol: pre-train, fine-tune, score (JSON).",
    )
    arg = parser.add_argument
    arg("--method", choices=METHODS, default="debiased")
    arg("--eval", choices=EVALS, default="multimodal", help="encoders used by the classifier")
    arg("--label-fraction", type=float, default=1.0, help="labelled share per class, (0, 1]")
    arg("--seed", type=int, default=0, help="seeds every stage and the label subset")
    arg("--epochs", type=int, default=100, help="pre-training epochs (CMC-CMKM: 100)")
    arg("--finetune-epochs", type=int, default=100, help="head / supervised epochs (100)")
    arg("--teacher-epochs", type=int, default=300, help="CMKM SimCLR teacher epochs (300)")
    arg("--teacher-seed", type=int, default=0, help="seed of the CMKM teachers (shared)")
    arg("--batch-size", type=int, default=64, help="pre-training and fine-tuning batch (64)")
    arg("--lr", type=float, default=1e-3, help="Adam learning rate of every stage (1e-3)")
    arg(
        "--temperature",
        type=float,
        help=f"temperature of the cross-modal loss ({', '.join(CROSS_MODAL)}; default "
        f"{RECIPE_TEMPERATURE} for debiased, chosen on the validation subject, the papers' "
        f"{CROSS_MODAL_TEMPERATURE} for the others); simclr keeps the CMC-CMKM SimCLR "
        "temperatures",
    )
    arg(
        "--tau-plus",
        type=float,
        help=f"class prior tau+ of debiased and hnl (default {HNL['tau_plus']}: 1 / 27)",
    )
    arg(
        "--pipeline",
        choices=PIPELINES,
        default="frozen",
        help="evaluation of pre-trained encoders: frozen (MLP head on frozen features), probe "
        "(linear probe on frozen features) or finetune (end to end, encoders at a lower rate)",
    )
    arg("--encoder-lr-scale", type=float, default=0.1, help="finetune: encoder rate / --lr")
    arg(
        "--features",
        choices=FEATURES,
        default="encoder",
        help="frozen and probe pipelines: the features the classifier reads, the encoder's "
        "output (default), the 128-d projection the contrastive loss saw, or pooled: the IMU "
        "encoder's 44 time steps averaged (128-d) instead of flattened (5632-d)",
    )
    arg(
        "--plateau",
        type=int,
        metavar="PATIENCE",
        help="halve the pre-training rate once the epoch's mean loss has not improved for "
        "more than PATIENCE epochs (torch's ReduceLROnPlateau; the papers: 20; the CMKM "
        "teachers keep a constant rate); default: a constant rate",
    )
    arg(
        "--head",
        choices=HEADS,
        help="classifier of the frozen, finetune and supervised pipelines: late (default for "
        "--eval multimodal: one head per modality, each trained on its own cross-entropy, "
        "fused by their mean log-probability; chosen on the validation subject) or concat (the "
        "papers' head on the concatenated branches; with one modality both are the same head)",
    )
    arg("--data", choices=("synthetic", "utd-mhad"), help="default: utd-mhad with --root")
    arg("--root", type=Path, help="UTD-MHAD folder holding Inertial/ and Skeleton/")
    arg("--protocol", choices=("odd-even", "cmc-cmkm"), default="odd-even")
    arg(
        "--normalize-inertial",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="standardise IMU channels with the training statistics and augment them with "
        "standardized_inertial_augment (default; the recommended recipe); "
        "--no-normalize-inertial: raw g and deg/s with the papers' augmentations",
    )
    arg(
        "--fast",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="pre-train on the fast path: bfloat16 autocast of the encoders and heads, "
        "channels-last convolutions, FastDropout (default); --no-fast: eager float32",
    )
    arg("--synthetic-classes", type=int, default=27)
    arg("--synthetic-subjects", type=int, default=8)
    arg("--synthetic-trials", type=int, default=4)
    arg("--synthetic-seed", type=int, default=0, help="seed of the synthetic data set")
    arg("--cache-dir", type=Path, help="default: $MMCONTRAST_CACHE_DIR/examples, ~/.cache/...")
    arg("--no-cache", action="store_true", help="train every encoder, store nothing")
    arg("--threads", type=int, help="torch intra-op threads (default: torch's choice)")
    arg("--out", type=Path, help="write the result JSON here")
    arg("--quiet", action="store_true", help="no progress on stderr")
    return parser


def check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Reject bad values before any work, with argparse's usage message (exit status 2)."""
    if not 0.0 < args.label_fraction <= 1.0:
        parser.error(f"--label-fraction must be in (0, 1], got {args.label_fraction}")
    for name in ("epochs", "finetune_epochs", "teacher_epochs", "threads", "plateau"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {value}")
    if args.batch_size < 2:
        parser.error(f"--batch-size must be >= 2 (contrastive pairs), got {args.batch_size}")
    if not (math.isfinite(args.lr) and args.lr > 0):
        parser.error(f"--lr must be a positive number, got {args.lr}")
    if not (math.isfinite(args.encoder_lr_scale) and args.encoder_lr_scale >= 0):
        parser.error(f"--encoder-lr-scale must be a number >= 0, got {args.encoder_lr_scale}")
    headed = args.method == "supervised" or (args.pipeline != "probe" and args.method != "clmm")
    if args.head is not None and not headed:
        parser.error(
            f"--head {args.head} needs the frozen, finetune or supervised pipelines; "
            "the linear probe and the clmm two-stage classifier have their own"
        )
    if args.head is None and headed:
        args.head = "late" if args.eval == "multimodal" else "concat"
    if args.features != "encoder" and (
        args.method in ("supervised", "clmm") or args.pipeline == "finetune"
    ):
        parser.error(
            f"--features {args.features} reads frozen pre-trained encoders: it needs --method "
            "simclr, cmc, debiased, hnl or cmkm with --pipeline frozen or probe, got "
            f"--method {args.method} --pipeline {args.pipeline}"
        )
    if args.plateau is not None and args.method == "supervised":
        parser.error("--plateau schedules pre-training; --method supervised has none")
    if args.temperature is not None:
        if args.method not in CROSS_MODAL:
            parser.error(
                f"--temperature sets the cross-modal loss ({', '.join(CROSS_MODAL)}), "
                f"not --method {args.method}"
            )
        if not (math.isfinite(args.temperature) and args.temperature > 0):
            parser.error(f"--temperature must be a positive number, got {args.temperature}")
    elif args.method in CROSS_MODAL:  # recorded in the result's config
        recipe = args.method == "debiased"
        args.temperature = RECIPE_TEMPERATURE if recipe else CROSS_MODAL_TEMPERATURE
    if args.tau_plus is not None:
        if args.method not in ("debiased", "hnl"):
            parser.error(f"--tau-plus sets debiased and hnl, not --method {args.method}")
        if not 0.0 <= args.tau_plus < 1.0:
            parser.error(f"--tau-plus must be in [0, 1), got {args.tau_plus}")
    if args.seed < 0 or args.teacher_seed < 0:
        parser.error(
            f"--seed and --teacher-seed must be >= 0, got {args.seed}, {args.teacher_seed}"
        )
    if args.data is None:
        args.data = "utd-mhad" if args.root is not None else "synthetic"
    if args.data == "synthetic":
        if args.root is not None:
            parser.error("--root is only read with --data utd-mhad")
        return
    if args.root is None:
        parser.error("--data utd-mhad needs --root PATH (the folder with Inertial/ and Skeleton/)")
    root = args.root.expanduser()
    if not root.is_dir():
        parser.error(f"--root {root} does not exist or is not a folder")
    missing = [f"{sub}/" for sub in ("Inertial", "Skeleton") if not (root / sub).is_dir()]
    if missing:
        parser.error(
            f"--root {root} is not a UTD-MHAD folder: it has no {' and no '.join(missing)} "
            f"(expected {root}/Inertial/a1_s1_t1_inertial.mat, ..., {root}/Skeleton/...)"
        )


def log(args: argparse.Namespace, message: str) -> None:
    if not args.quiet:
        print(message, file=sys.stderr, flush=True)


def stage_seed(seed: int, stage: str) -> int:
    """An independent, reproducible seed for each stage of a run."""
    return int.from_bytes(hashlib.sha256(f"{seed}/{stage}".encode()).digest()[:8], "little") >> 2


# --------------------------------------------------------------------------- data
def load_data(args: argparse.Namespace) -> tuple[PairedDataset, dict[str, Any]]:
    if args.data == "utd-mhad":  # 50 steps (FFT), skeletons recentred and scaled
        root = args.root.expanduser().resolve()
        return load_utd_mhad(root), {"source": "utd-mhad", "root": str(root)}
    data = make_synthetic(
        num_classes=args.synthetic_classes,
        num_subjects=args.synthetic_subjects,
        num_trials=args.synthetic_trials,
        seed=args.synthetic_seed,
    )
    info = {
        "source": "synthetic",
        "note": "mmcontrast.data.make_synthetic: NOT UTD-MHAD, no result on it reproduces a paper",
        "num_classes": args.synthetic_classes,
        "num_subjects": args.synthetic_subjects,
        "num_trials": args.synthetic_trials,
        "seed": args.synthetic_seed,
    }
    return data, info


def fingerprint(dataset: PairedDataset) -> str:
    """A hash of the arrays pre-training sees (keys the encoder cache)."""
    digest = hashlib.sha256()
    for tensor in (dataset.inertial, dataset.skeleton, dataset.subject, dataset.trial):
        digest.update(str(tuple(tensor.shape)).encode())
        digest.update(tensor.contiguous().numpy().tobytes())
    return digest.hexdigest()[:20]


def inputs_of(dataset: PairedDataset, modalities: Sequence[str]) -> dict[str, Tensor]:
    return {m: getattr(dataset, m) for m in modalities}


def batches(n: int, size: int, generator: torch.Generator, *, drop_last: bool) -> list[Tensor]:
    """Shuffled index batches of ``min(size, n)``.

    A short last batch is dropped with ``drop_last`` (contrastive pre-training, as upstream)
    and always when it holds a single sample (BatchNorm needs two).
    """
    size = min(size, n)
    chunks = list(torch.randperm(n, generator=generator).split(size))
    if len(chunks) > 1 and len(chunks[-1]) < (size if drop_last else 2):
        chunks.pop()
    return chunks


# --------------------------------------------------------------------------- models
def build_encoder(method: str, modality: str) -> tuple[nn.Module, int]:
    """The encoder of ``modality`` and its feature size."""
    if method != "clmm":  # the CMC-CMKM presets (also the hard-negative paper's encoders)
        if modality == "inertial":
            return presets.cmc_cmkm_inertial(), 5632
        return presets.cmc_cmkm_skeleton(), 256
    if modality == "inertial":  # our CNN-DiffTransformer (architectures.md §4.3 a)
        return presets.clmm_style_inertial(), 128
    return presets.clmm_style_skeleton(), 128  # the same design on the flattened coordinates


def pretrain_augmentations(args: argparse.Namespace) -> dict[str, nn.Module]:
    """The CMC-CMKM UTD-MHAD augmentations (data.md §8) on the axes their names say.

    With ``--normalize-inertial`` the IMU pipeline is `standardized_inertial_augment`: the
    paper's noise and scale sigmas of 1 are in raw g and deg/s, larger than the
    accelerometer's own spread and negligible for the gyroscope, and mean nothing once the
    channels are standardised.
    """
    inertial = (
        standardized_inertial_augment() if args.normalize_inertial else cmc_cmkm_inertial_augment()
    )
    return {"inertial": inertial, "skeleton": cmc_cmkm_skeleton_augment()}


def supervised_augmentations() -> dict[str, nn.Module]:
    """The lighter, skeleton-only set of CMC-CMKM's supervised baseline (data.md §8)."""
    return {"skeleton": cmc_cmkm_supervised_skeleton_augment()}  # no IMU augmentation


def describe(module: nn.Module) -> str:
    """A short hash of a module's printed configuration (keys the cache)."""
    return hashlib.sha256(repr(module).encode()).hexdigest()[:12]


# --------------------------------------------------------------------------- caching
def cache_dir(args: argparse.Namespace) -> Path | None:
    if args.no_cache:
        return None
    if args.cache_dir is not None:
        return args.cache_dir.expanduser()
    base = os.environ.get("MMCONTRAST_CACHE_DIR")
    if base:
        return Path(base).expanduser() / "examples"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "mmcontrast" / "examples"


def pretrained(
    args: argparse.Namespace,
    name: str,
    spec: Mapping[str, Any],
    encoders: Mapping[str, nn.Module],
    train: Callable[[], list[float]],
    projections: Mapping[str, nn.Module],
    *,
    need_projections: bool,
) -> dict[str, Any]:
    """Load ``encoders`` from the cache entry of ``spec``, or ``train()`` them and store them.

    The projection heads are stored beside the encoders. When ``need_projections``
    (``--features projection``), an entry written before they were stored is trained again
    (the same seeds give the same encoders) and overwritten. Returns the record written to
    the JSON: per-epoch losses, training seconds, cache key.
    """
    key = hashlib.sha256(
        json.dumps({"format": CACHE_FORMAT, **spec}, sort_keys=True).encode()
    ).hexdigest()[:20]
    folder = cache_dir(args)
    path = None if folder is None else folder / f"{name}-{key}.pt"
    modules = {"encoders": encoders, "projections": projections}
    needed = ("encoders", "projections") if need_projections else ("encoders",)
    stored: Any = None  # an older entry that is trained again, to compare with
    if path is not None and path.is_file():
        initial = {
            group: {m: copy.deepcopy(module.state_dict()) for m, module in members.items()}
            for group, members in modules.items()
        }
        try:
            stored = torch.load(path, weights_only=True)
            missing = [group for group in needed if group not in stored]
            if missing:
                raise LookupError(f"the entry holds no {' and no '.join(missing)}")
            for group in needed:
                for modality, module in modules[group].items():
                    module.load_state_dict(stored[group][modality])
        except Exception as error:  # a broken or older file: train from the initial weights
            log(args, f"[{name}] training again instead of reading {path}: {error}")
            for group, members in modules.items():
                for modality, module in members.items():
                    module.load_state_dict(initial[group][modality])
        else:
            log(args, f"[{name}] reusing the encoders cached in {path}")
            return {
                "cached": True,
                "key": key,
                "path": str(path),
                "losses": stored["losses"],
                "wall_seconds": stored["wall_seconds"],
                "spec": dict(spec),
            }
    start = time.perf_counter()
    losses = train()
    seconds = time.perf_counter() - start
    if isinstance(stored, dict) and isinstance(stored.get("encoders"), dict):
        # An older entry trained again (for its projections): its encoders should come out
        # the same; say so when they do not (other threads, torch version or machine), since
        # results read from the old entry used the old weights.
        old = stored["encoders"]
        same = all(
            m in old
            and old[m].keys() == encoder.state_dict().keys()
            and all(torch.equal(old[m][k], v) for k, v in encoder.state_dict().items())
            for m, encoder in encoders.items()
        )
        if not same:
            log(args, f"[{name}] warning: the encoders trained again differ from those in {path}")
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        state = {
            group: {m: module.state_dict() for m, module in members.items()}
            for group, members in modules.items()
        }
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        torch.save({**state, "losses": losses, "wall_seconds": seconds}, temporary)
        os.replace(temporary, path)  # atomic: a concurrent run never reads half a file
    return {
        "cached": False,
        "key": key,
        "path": None if path is None else str(path),
        "losses": losses,
        "wall_seconds": seconds,
        "spec": dict(spec),
    }


# --------------------------------------------------------------------------- pre-training
def fast_path(args: argparse.Namespace, *modules: nn.Module) -> torch.dtype | None:
    """With ``--fast``: `prepare_fast_training` on ``modules``; the autocast dtype to use.

    Only the pre-training stages take the fast path; the supervised baseline and the
    fine-tuning stage run as before (frozen features are computed once, in eval mode, where
    dropout does nothing).
    """
    if not args.fast:
        return None
    for module in modules:
        prepare_fast_training(module)
    return torch.bfloat16


def contrastive_epochs(
    args: argparse.Namespace,
    stage: str,
    model: nn.Module,
    views: Callable[[Tensor, torch.Generator], dict[str, Tensor]],
    objective: Callable[[dict[str, Tensor], float], Tensor],
    *,
    n: int,
    epochs: int,
    batch_size: int,
    seed: int,
    patience: int | None = None,
) -> list[float]:
    """Adam over shuffled full batches: ``objective(views(indices), progress)``.

    With a ``patience`` (``--plateau``), the rate halves whenever the epoch's mean loss has
    not improved (by torch's relative 1e-4) for more than that many epochs. Returns the mean
    loss of every epoch; ``progress`` runs from 0 to 1 over the steps.
    """
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    plateau = None
    if patience is not None:
        plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode="min", factor=0.5, patience=patience
        )
    generator = torch.Generator().manual_seed(stage_seed(seed, f"{stage}-data"))
    total_steps = epochs * (n // min(batch_size, n))
    losses: list[float] = []
    start, done = time.perf_counter(), 0
    for epoch in range(epochs):
        total, count = torch.zeros(()), 0
        for indices in batches(n, batch_size, generator, drop_last=True):
            loss = objective(views(indices, generator), done / total_steps)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.detach() * len(indices)
            count += len(indices)
            done += 1
        losses.append(float(total / count))
        if plateau is not None:
            rate = optimizer.param_groups[0]["lr"]
            plateau.step(losses[-1])
            if optimizer.param_groups[0]["lr"] < rate:
                log(
                    args,
                    f"[{stage}] epoch {epoch + 1}: loss plateau, rate {rate:g} -> "
                    f"{optimizer.param_groups[0]['lr']:g}",
                )
        elapsed = time.perf_counter() - start
        left = elapsed / (epoch + 1) * (epochs - epoch - 1)
        log(
            args,
            f"[{stage}] epoch {epoch + 1}/{epochs}  loss {losses[-1]:.4f}  "
            f"{elapsed:.0f} s, ~{left:.0f} s left",
        )
    return losses


def simclr_encoder(
    args: argparse.Namespace,
    train: PairedDataset,
    modality: str,
    *,
    epochs: int,
    seed: int,
    teacher: bool = False,
) -> tuple[nn.Module, ProjectionHead, int, dict[str, Any]]:
    """A unimodal SimCLR encoder (NT-Xent on two views of one modality) and its projection.

    The ``simclr`` baseline, and the CMKM teachers (``--teacher-epochs``, ``--teacher-seed``,
    ``teacher=True``: a constant rate, whatever ``--plateau`` says, and their projections are
    never read).
    """
    patience = None if teacher else args.plateau
    config = SIMCLR[modality]
    torch.manual_seed(stage_seed(seed, f"simclr-{modality}"))
    encoder, dim = build_encoder("simclr", modality)
    projection = ProjectionHead(dim)  # CMC-CMKM's ProjectionMLP: -> 256 -> BN/ReLU -> 128
    augment = pretrain_augmentations(args)[modality]
    criterion = InfoNCE(temperature=config["temperature"], negatives="all")  # NT-Xent
    autocast_dtype = fast_path(args, encoder, projection)
    x = getattr(train, modality)
    spec = {
        "stage": "simclr",
        **({"autocast": str(autocast_dtype)} if autocast_dtype is not None else {}),
        "modality": modality,
        "epochs": epochs,
        "seed": seed,
        "lr": args.lr,
        **({"plateau": patience} if patience is not None else {}),
        **config,
        "criterion": repr(criterion),
        "encoder": describe(encoder),
        "augment": describe(augment),
        "data": fingerprint(train),
    }

    def run() -> list[float]:
        # Two views through one encoder and projection head, in one forward of the 2B batch
        # (BatchNorm normalises both views together, as in SimCLR).
        model = SimCLRPretrainer(encoder, projection, criterion, autocast_dtype=autocast_dtype)
        return contrastive_epochs(
            args,
            f"simclr-{modality}",
            model,
            lambda i, g: {v: augment(x[i], generator=g) for v in ("view1", "view2")},
            lambda views, progress: model(views["view1"], views["view2"]),
            n=len(train),
            epochs=epochs,
            batch_size=config["batch_size"],
            seed=seed,
            patience=patience,
        )

    record = pretrained(
        args,
        f"simclr-{modality}",
        spec,
        {modality: encoder},
        run,
        {modality: projection},
        need_projections=args.features == "projection" and not teacher,
    )
    return encoder, projection, dim, record


def cross_modal_encoders(
    args: argparse.Namespace,
    train: PairedDataset,
    teachers: Mapping[str, tuple[nn.Module, str]] | None,
) -> tuple[dict[str, nn.Module], dict[str, ProjectionHead], dict[str, int], dict[str, Any]]:
    """Multimodal pre-training with one augmented view per modality: encoders, projections.

    ``teachers`` (CMKM only): ``modality -> (frozen SimCLR encoder, its cache key)``.
    """
    method = args.method
    torch.manual_seed(stage_seed(args.seed, "pretrain"))
    built = {m: build_encoder(method, m) for m in MODALITIES}
    encoders = {m: encoder for m, (encoder, _) in built.items()}
    dims = {m: dim for m, (_, dim) in built.items()}
    projections = {m: ProjectionHead(dims[m]) for m in MODALITIES}
    augment = pretrain_augmentations(args)
    criterion: nn.Module
    tau = args.temperature
    tau_plus = HNL["tau_plus"] if args.tau_plus is None else args.tau_plus
    if method in ("cmc", "clmm"):
        criterion = InfoNCE(temperature=tau)
    elif method == "debiased":
        criterion = DebiasedContrastiveLoss(temperature=tau, tau_plus=tau_plus)
    elif method == "hnl":
        criterion = HardNegativeLoss(temperature=tau, beta=HNL["beta"], tau_plus=tau_plus)
    else:  # cmkm, the paper's configuration (reference/losses.md §5d)
        criterion = CMKMLoss(temperature=tau, k=1, intra_negatives=True, intra_temperature=1.0)
    weighting = HardPositiveWeighting(beta=CLMM_BETA)  # clmm only
    autocast_dtype = fast_path(args, *encoders.values(), *projections.values())
    model = ContrastivePretrainer(encoders, projections, criterion, autocast_dtype=autocast_dtype)
    data = inputs_of(train, MODALITIES)
    spec = {
        "stage": "pretrain",
        **({"autocast": str(autocast_dtype)} if autocast_dtype is not None else {}),
        "method": method,
        "epochs": args.epochs,
        "seed": args.seed,
        "batch_size": args.batch_size,
        "lr": args.lr,
        **({"plateau": args.plateau} if args.plateau is not None else {}),
        "criterion": repr(criterion),
        "weighting": repr(weighting) if method == "clmm" else None,
        "encoders": {m: describe(e) for m, e in encoders.items()},
        "augment": {m: describe(a) for m, a in augment.items()},
        "data": fingerprint(train),
        # the teachers' own cache keys: their whole configuration, so their weights too
        "teachers": None if teachers is None else {m: key for m, (_, key) in teachers.items()},
    }

    def objective(views: dict[str, Tensor], progress: float) -> Tensor:
        if method in ("cmc", "debiased", "hnl"):
            return model(views)  # criterion(z_inertial, z_skeleton)
        z = model.embed(views)
        if method == "cmkm":  # the frozen teachers see the same augmented batch
            with torch.no_grad():
                mined = [teachers[m][0](views[m]).flatten(1) for m in MODALITIES]  # type: ignore[index]
            return criterion(z["inertial"], z["skeleton"], *mined)
        # clmm: hard-positive weights whose beta is ramped up over the first 10 % of the steps
        weighting.beta = linear_warmup(CLMM_BETA, progress=progress)
        weights = weighting(z["inertial"], z["skeleton"])
        return criterion(z["inertial"], z["skeleton"], weights=weights)

    def run() -> list[float]:
        return contrastive_epochs(
            args,
            f"pretrain-{method}",
            model,
            lambda i, g: {m: augment[m](x[i], generator=g) for m, x in data.items()},
            objective,
            n=len(train),
            epochs=args.epochs,
            batch_size=args.batch_size,
            seed=args.seed,
            patience=args.plateau,
        )

    record = pretrained(
        args,
        f"pretrain-{method}",
        spec,
        encoders,
        run,
        projections,
        need_projections=args.features == "projection",
    )
    return encoders, projections, dims, record


# --------------------------------------------------------------------------- fine-tuning
class TimeAveraged(nn.Module):
    """A sequence encoder with ``pooling="flatten"``, its time steps averaged instead.

    The encoder's ``"b (d t)"`` output (channel-major) becomes ``"b d"``: what the frozen head
    reads when the flatten is replaced by the mean pooling most encoders use. HCN's skeleton
    features are already a single 1x1 position, so only the IMU encoder changes.
    """

    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        self.out_features = int(encoder.stem.channels[-1])  # type: ignore[union-attr, index]

    def forward(self, x: Tensor) -> Tensor:
        """``"b t c"`` -> ``"b d"``."""
        features: Tensor = self.encoder(x)
        return features.reshape(len(features), self.out_features, -1).mean(dim=-1)


def predict_all(model: nn.Module, inputs: Mapping[str, Tensor]) -> Tensor:
    """`mmcontrast.recipes.predict` in chunks."""
    n = len(next(iter(inputs.values())))
    return torch.cat(
        [predict(model, {m: x[i : i + 256] for m, x in inputs.items()}) for i in range(0, n, 256)]
    )


Side = tuple[dict[str, Tensor], Tensor]  # (modality -> inputs or features, labels)


def train_classifier(
    args: argparse.Namespace,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    train: Side,
    val: Side | None,
    augment: Mapping[str, nn.Module] | None = None,
) -> dict[str, Any]:
    """Supervised epochs of `finetune_step`; with a validation side, keep its best epoch."""
    inputs, labels = train
    generator = torch.Generator().manual_seed(stage_seed(args.seed, "finetune-data"))
    augment = augment or {}
    losses: list[float] = []
    val_accuracies: list[float] = []
    best: tuple[float, int, dict[str, Tensor]] | None = None
    start = time.perf_counter()
    for epoch in range(args.finetune_epochs):
        total, count = torch.zeros(()), 0
        for indices in batches(len(labels), args.batch_size, generator, drop_last=False):
            batch = {m: x[indices] for m, x in inputs.items()}
            batch = {
                m: augment[m](x, generator=generator) if m in augment else x
                for m, x in batch.items()
            }
            total += finetune_step(model, batch, labels[indices], optimizer) * len(indices)
            count += len(indices)
        losses.append(float(total / count))
        message = f"[finetune] epoch {epoch + 1}/{args.finetune_epochs}  loss {losses[-1]:.4f}"
        if val is not None:
            val_accuracies.append(float((predict_all(model, val[0]) == val[1]).double().mean()))
            message += f"  val accuracy {val_accuracies[-1]:.3f}"
            if best is None or val_accuracies[-1] > best[0]:
                best = (val_accuracies[-1], epoch, copy.deepcopy(model.state_dict()))
        log(args, f"{message}  {time.perf_counter() - start:.0f} s")
    selected, val_accuracy = args.finetune_epochs - 1, None
    if best is not None:  # the CMC-CMKM protocol: the epoch with the best validation accuracy
        val_accuracy, selected, state = best
        model.load_state_dict(state)
    return {
        "losses": losses,
        "val_accuracy": val_accuracy,
        "val_accuracies": val_accuracies or None,
        "selected_epoch": selected + 1,
    }


def classifier(
    args: argparse.Namespace,
    encoders: dict[str, nn.Module],
    dims: dict[str, int],
    num_classes: int,
    *,
    freeze_encoders: bool = True,
) -> FineTuneClassifier:
    """The encoders with the head of ``--head``: the papers' concat head, or late fusion."""
    if args.head == "concat":
        return concat_classifier(encoders, dims, num_classes, freeze_encoders=freeze_encoders)
    head = LateFusionClassifier(dims, num_classes)
    return FineTuneClassifier(encoders, head, freeze_encoders=freeze_encoders)


def finetune(
    args: argparse.Namespace,
    encoders: dict[str, nn.Module],
    dims: dict[str, int],
    sides: Mapping[str, PairedDataset],
    num_classes: int,
) -> tuple[Tensor, dict[str, Any]]:
    """Train the evaluation model on the labelled subset; return its test predictions."""
    modalities = MODALITIES if args.eval == "multimodal" else (args.eval,)
    encoders = {m: encoders[m] for m in modalities}
    dims = {m: dims[m] for m in modalities}
    raw = {k: (inputs_of(d, modalities), d.label) for k, d in sides.items() if len(d) > 0}
    torch.manual_seed(stage_seed(args.seed, "finetune"))

    if args.method == "supervised":  # the same encoders and head, trained from scratch
        model = classifier(args, encoders, dims, num_classes, freeze_encoders=False)
        optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
        info = train_classifier(
            args, model, optimizer, raw["labelled"], raw.get("val"), supervised_augmentations()
        )
        return predict_all(model, raw["test"][0]), info

    if args.pipeline == "probe":  # linear evaluation of the frozen (stage-1) encoders
        return linear_probe(args, encoders, raw)

    if args.method == "clmm":  # stage 2 of this project's two-stage design (not CLMM's)
        quality = None
        if len(modalities) > 1:  # Hopkins statistic of the stage-1 features, no labels
            stage1 = extract_features(encoders, raw["unlabelled"][0])
            generator = torch.Generator().manual_seed(stage_seed(args.seed, "quality"))
            prior = quality_prior(stage1, generator=generator)
            quality = {m: float(q) for m, q in zip(modalities, prior, strict=True)}
        tuned = args.pipeline == "finetune"
        two_stage = build_two_stage_classifier(
            encoders, dims, num_classes, quality=quality, freeze_shared=not tuned
        )
        optimizer = torch.optim.Adam(
            two_stage.parameter_groups(args.lr, encoder_scale=args.encoder_lr_scale)
        )
        info = train_classifier(
            args,
            two_stage,
            optimizer,
            raw["labelled"],
            raw.get("val"),
            supervised_augmentations() if tuned else None,
        )
        return predict_all(two_stage, raw["test"][0]), {"quality_prior": quality, **info}

    if args.pipeline == "finetune":  # end to end: the pre-trained encoders at a lower rate
        model = classifier(args, encoders, dims, num_classes, freeze_encoders=False)
        optimizer = torch.optim.Adam(
            model.parameter_groups(args.lr, encoder_scale=args.encoder_lr_scale)
        )
        info = train_classifier(
            args, model, optimizer, raw["labelled"], raw.get("val"), supervised_augmentations()
        )
        return predict_all(model, raw["test"][0]), info

    # The hard-negative paper's fine-tuning: frozen encoders and a head (--head). The encoders
    # are in eval mode and nothing is augmented, so their features are computed once and only
    # the head trains (the same numbers as running the encoders at every step, much faster).
    model = classifier(args, encoders, dims, num_classes)  # freezes the encoders
    features = {
        k: (extract_features(model.encoders, inputs), labels)
        for k, (inputs, labels) in raw.items()
        if k != "unlabelled"
    }
    optimizer = torch.optim.Adam(model.head.parameters(), lr=args.lr)
    info = train_classifier(args, model.head, optimizer, features["labelled"], features.get("val"))
    return predict_all(model.head, features["test"][0]), info


def linear_probe(
    args: argparse.Namespace, encoders: Mapping[str, nn.Module], raw: Mapping[str, Side]
) -> tuple[Tensor, dict[str, Any]]:
    """`mmcontrast.evaluation.LinearProbe` on the concatenated frozen features.

    Each modality's features are standardised with the labelled subset's statistics and
    divided by the square root of their width, so that every modality carries the same total
    variance: standardising the concatenation instead would let the 5632 IMU features drown
    the 256 skeleton ones (on the validation subject, 58 % against 79 % with 5 % of the
    labels; ``docs/results.md``). The L2 strength is chosen by cross-validation on the
    labelled subset alone (``l2="auto"``), so neither the validation nor the test subjects
    inform it.
    """
    frozen = {m: freeze(encoder) for m, encoder in encoders.items()}
    fitted = extract_features(frozen, raw["labelled"][0])
    scalers = {m: Standardizer.fit(x) for m, x in fitted.items()}

    def features(side: str) -> Tensor:
        extracted = fitted if side == "labelled" else extract_features(frozen, raw[side][0])
        blocks = [scalers[m](x) / math.sqrt(x.shape[1]) for m, x in extracted.items()]
        return torch.cat(blocks, dim=1)

    start = time.perf_counter()
    probe = LinearProbe(l2="auto", standardize=False)
    probe.fit(features("labelled"), raw["labelled"][1])
    info: dict[str, Any] = {
        "losses": [],
        "probe": {**probe.info._asdict(), "seconds": time.perf_counter() - start},
        "val_accuracy": None,
    }
    if "val" in raw:
        predicted = probe.predict(features("val"))
        info["val_accuracy"] = float((predicted == raw["val"][1]).double().mean())
    log(args, f"[probe] l2 {probe.info.l2:g}, {info['probe']['seconds']:.1f} s")
    return probe.predict(features("test")), info


# --------------------------------------------------------------------------- main
def to_json(result: Mapping[str, Any]) -> str:
    """Indented JSON with every list of numbers on one line (loss curves, confusion rows)."""
    text = json.dumps(result, indent=2)
    numbers = re.compile(r"\[\s+([-+\w.,\s]*?)\s+\]")  # numbers, null, true/false only
    return numbers.sub(lambda m: "[" + " ".join(m.group(1).split()) + "]", text) + "\n"


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the protocol once; return the result that ``--out`` writes as JSON."""
    parser = build_parser()
    argv_used = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv_used)
    check_args(parser, args)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    start = time.perf_counter()
    try:
        data, data_info = load_data(args)
        split = cross_subject_split(data.subject, protocol=args.protocol)
    except (FileNotFoundError, ValueError, ImportError) as error:
        where = f" from --root {args.root}" if args.data == "utd-mhad" else ""
        parser.error(f"cannot load the {args.data} data{where}: {error}")
    train, val, test = data.split(split, normalize_inertial=args.normalize_inertial)
    labelled = train.subset(
        label_fraction_subset(train.label, fraction=args.label_fraction, seed=args.seed)
    )
    sides = {"unlabelled": train, "labelled": labelled, "val": val, "test": test}
    data_info |= {
        "num_sequences": len(data),
        "num_classes": data.num_classes,
        "num_train": len(train),
        "num_labelled": len(labelled),
        "num_val": len(val),
        "num_test": len(test),
        "protocol": args.protocol,
        "normalize_inertial": args.normalize_inertial,
        "train_fingerprint": fingerprint(train),
    }
    log(
        args,
        f"[data] {data_info['source']}: {len(train)} training sequences "
        f"({len(labelled)} labelled), {len(val)} validation, {len(test)} test, "
        f"{data.num_classes} classes",
    )
    timings = {"data": time.perf_counter() - start}

    pretraining: dict[str, dict[str, Any]] = {}
    modalities = MODALITIES if args.eval == "multimodal" else (args.eval,)
    if args.method == "supervised":
        torch.manual_seed(stage_seed(args.seed, "supervised-init"))
        built = {m: build_encoder("supervised", m) for m in modalities}
        encoders = {m: encoder for m, (encoder, _) in built.items()}
        dims = {m: dim for m, (_, dim) in built.items()}
    elif args.method == "simclr":  # one unimodal SimCLR encoder per evaluated modality
        encoders, dims = {}, {}
        projections: dict[str, ProjectionHead] = {}
        for m in modalities:
            encoders[m], projections[m], dims[m], pretraining[f"simclr-{m}"] = simclr_encoder(
                args, train, m, epochs=args.epochs, seed=args.seed
            )
    else:
        teachers = None
        if args.method == "cmkm":  # frozen unimodal SimCLR teachers, trained first (cached)
            teachers = {}
            for m in MODALITIES:
                teacher, _, _, record = simclr_encoder(
                    args, train, m, epochs=args.teacher_epochs, seed=args.teacher_seed, teacher=True
                )
                teachers[m] = (freeze(teacher), record["key"])
                pretraining[f"teacher-{m}"] = record
        encoders, projections, dims, pretraining["cross-modal"] = cross_modal_encoders(
            args, train, teachers
        )
    if args.features == "projection":  # what the loss saw: encoder, then projection head
        encoders = {m: nn.Sequential(encoders[m], projections[m]) for m in modalities}
        dims = {m: projections[m].out_features for m in modalities}
    pooled = []  # --features pooled: the modalities whose time steps are averaged (IMU only)
    if args.features == "pooled" and "inertial" in modalities:
        averaged = TimeAveraged(encoders["inertial"])
        encoders["inertial"], dims["inertial"] = averaged, averaged.out_features
        pooled.append("inertial")
    elif args.features == "pooled":
        log(args, "[features] nothing to pool: HCN's skeleton features are one position")
    timings["pretrain"] = time.perf_counter() - start - timings["data"]

    predicted, finetuning = finetune(args, encoders, dims, sides, data.num_classes)
    timings["finetune"] = time.perf_counter() - start - sum(timings.values())
    scores = classification_scores(predicted, test.label, num_classes=data.num_classes)
    wall = time.perf_counter() - start

    result: dict[str, Any] = {
        "method": args.method,
        "eval": args.eval,
        "pipeline": "supervised" if args.method == "supervised" else args.pipeline,
        "head": args.head,
        "label_fraction": args.label_fraction,
        "seed": args.seed,
        "fast": args.fast and args.method != "supervised",
        "test_accuracy": float(scores.accuracy),
        "test_macro_f1": float(scores.macro_f1),
        "val_accuracy": finetuning.pop("val_accuracy"),
        "chance": 1.0 / data.num_classes,
        "wall_seconds": wall,
        "timings": timings,
        "pretrain_losses": {name: record["losses"] for name, record in pretraining.items()},
        "finetune_losses": finetuning.pop("losses"),
        "pretraining": {
            name: {k: v for k, v in record.items() if k != "losses"}
            for name, record in pretraining.items()
        },
        "finetuning": finetuning,
        "data": data_info,
        "classes": list(data.classes),
        "confusion_matrix": scores.confusion.tolist(),
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "command": shlex.join(["python", "examples/utd_mhad.py", *argv_used]),
        "environment": {
            "mmcontrast": mmcontrast.__version__,
            "torch": torch.__version__,
            "python": platform.python_version(),
            "threads": torch.get_num_threads(),
            "cpu_count": os.cpu_count(),
            "machine": platform.machine(),
        },
    }
    if args.features == "pooled":
        result["pooled"] = pooled  # [] with --eval skeleton: the encoder's own features
    if args.method == "clmm":
        result["note"] = CLMM_NOTE
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(to_json(result))
    source = "UTD-MHAD" if data_info["source"] == "utd-mhad" else "SYNTHETIC data, not a paper"
    if result["val_accuracy"] is None:
        scores_line = (
            f"test accuracy {result['test_accuracy']:.4f}, macro-F1 {result['test_macro_f1']:.4f}"
        )
    else:  # a run that chooses settings: its test score goes to the JSON only
        scores_line = f"validation accuracy {result['val_accuracy']:.4f} (test scores: --out)"
    print(
        f"{args.method} / {args.eval} / {args.label_fraction:g} of the labels / seed "
        f"{args.seed} ({source}): {scores_line}, {wall:.0f} s"
    )
    return result


if __name__ == "__main__":
    main()
