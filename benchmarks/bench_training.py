"""Pre-training step throughput: the UTD-MHAD recipe end to end, eager float32 against faster paths.

One step is the hard-negative paper's UTD-MHAD pre-training step as ``examples/utd_mhad.py
--method hnl`` runs it: a random batch of ``--batch-size`` pairs (default 64) out of
``--samples`` (431, UTD-MHAD's training subjects), both modalities augmented with the
recommended recipe's ``augment.presets.standardized_inertial_augment`` /
``cmc_cmkm_skeleton_augment``, the encoders
``encoders.presets.cmc_cmkm_inertial`` ``(b, 50, 6) -> (b, 5632)`` and ``cmc_cmkm_skeleton``
``(b, 50, 20, 3) -> (b, 256)``, a ``heads.ProjectionHead`` each, ``losses.HardNegativeLoss``
(tau 0.1, beta 1, tau+ 0.037), backward and an Adam step (lr 1e-3), all in train mode. The
data are random tensors of the real shapes. Every variant owns a model built from the same
seed, its own Adam and its own augmentation generator; all run in one process, interleaved
round by round (the order rotated every round), and the table gives the median wall-clock and
process CPU time per step over the rounds, as pairs per second. Warm-up steps (and any
compilation) are excluded from the timing; the first step's wall time is printed separately.

The library's fast path, the headline: ``ContrastivePretrainer(...,
autocast_dtype=torch.bfloat16)`` and `mmcontrast.recipes.prepare_fast_training` (channels-last
HCN weights, `mmcontrast.encoders.FastDropout` in place of every ``nn.Dropout``), stepped by
`pretrain_step` as the example does. FastDropout draws the same independent element-wise masks
(p rounded to a multiple of 2**-16) from a quarter of the random numbers, so its kind is "same
law", not "same model"; its accuracy on real UTD-MHAD (3 seeds against eager float32) is in
``docs/benchmarks.md``. *FastDropout* alone (eager float32) is a row too.

Variants that keep the model and its training semantics (up to numerical precision):

* *eager float32*: `mmcontrast.recipes.pretrain_step` on a
  `mmcontrast.recipes.ContrastivePretrainer`: the baseline.
* *bf16 autocast*: ``torch.autocast("cpu", dtype=torch.bfloat16)`` around the encoders and
  heads; the embeddings are cast back and the loss is computed in float32. Convolutions, linear
  layers and attention then take bfloat16 copies of their inputs and weights (the parameters,
  their gradients and Adam's state stay float32) and run as oneDNN primitives, which multiply
  bfloat16 operands and accumulate in float32, rounding once to the bfloat16 output (oneDNN's
  documented numerical behaviour). On AVX-512 BF16 hardware the products are ``vdpbf16ps``
  (dot products of bfloat16 pairs accumulated into float32). The 2-core Xeon of issue #14 also
  has AMX-BF16: there (torch 2.13, oneDNN 3.12) ``ONEDNN_VERBOSE=1`` shows oneDNN's brgemm
  kernels on AMX tiles (``brg_matmul``, ``brg_conv_fwd``, ``brgconv_bwd_w``, all
  ``avx10_1_512_amx``) for the bfloat16 linear layers, matmuls and convolutions, forward and
  weight gradients, with reorders of the convolutions' activations to channels-last around
  them; in float32 the linear layers do not go through oneDNN (MKL's sgemm) and the
  convolutions use oneDNN's ``jit:avx512_core``. The ops autocast leaves alone (BatchNorm,
  LayerNorm, softmax, dropout, elementwise) run on the bfloat16 activations they receive.
* *channels-last skeleton weights*: the HCN's 4-d weights in ``torch.channels_last``, so its
  convolutions, BatchNorms and pools run in NHWC (float32, and with bf16 autocast).
* *torch.compile*: ``torch.compile(fullgraph=True)`` of each encoder with its projection head,
  in train mode, with and without bf16 autocast; and of the whole forward including the loss.
  Static shapes (``dynamic=False``): both chains are ``nn.Sequential`` and share its
  ``forward``, so with automatic dynamic shapes the second one was recompiled with symbolic
  sizes, which the HCN failed in inductor on torch 2.13 ("cannot determine truth value of
  Relational"). Dropout then draws from inductor's generator instead of the eager one (same
  distribution).
  A variant that fails to compile shows its error in the table.
* *1 thread* (with ``--threads`` > 1): eager float32 with one intra-op thread. It counts for
  the headline with the wall clock only (with the CPU clock fewer threads always look cheaper).

Dropout variants, which change the regulariser (their accuracy is not verified here, so they
never count for the headline): the feed-forward dropout of every
``nn.TransformerEncoderLayer`` (its ``.dropout``, on the ``(b, 44, 2048)`` hidden) at p = 0
with the residual and attention dropouts kept; all dropout off (an upper bound, not a recipe);
and a "locked" dropout in place of the feed-forward one, whose mask is shared over the time
axis (one Bernoulli draw per sample and feature instead of per element: 44 times fewer draws).
A profile of the eager train-mode step put 31 % of its CPU time in ``aten::bernoulli_``.

``--profile`` prints the top ``torch.profiler`` ops of the eager float32 step and the time
of its phases (augment, forward, backward, Adam). The fine-tuning section times the frozen
stage of ``examples/utd_mhad.py --pipeline frozen``: the feature extraction (both encoders,
eval mode), one epoch of a ``heads.MultimodalClassifier`` (5632 + 256 -> 27 classes) on
precomputed features of the ``--samples`` samples, and ``evaluation.LinearProbe(l2=1.0).fit``
on the concatenated ``samples x 5888`` features.

As in ``bench_augment.py``, freed memory stays in the process (glibc ``mallopt``) unless
``--default-malloc`` is given; the setting applies to every variant. Run:
``python benchmarks/bench_training.py`` (``--help`` for the options). The second-to-last line
gives the speed-ups of the dropout variants; the last line reads ``training speedup: <N>x``:
the fastest variant that keeps the model and its training semantics, over eager float32
(wall-clock time by default, ``--clock cpu`` for process CPU time).
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import statistics
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn
from torch.profiler import ProfilerActivity, profile, record_function

from mmcontrast.augment.presets import cmc_cmkm_skeleton_augment, standardized_inertial_augment
from mmcontrast.encoders import use_fast_dropout
from mmcontrast.encoders.presets import cmc_cmkm_inertial, cmc_cmkm_skeleton
from mmcontrast.evaluation import LinearProbe, extract_features
from mmcontrast.heads import MultimodalClassifier, ProjectionHead
from mmcontrast.losses import HardNegativeLoss
from mmcontrast.recipes import (
    ContrastivePretrainer,
    finetune_step,
    prepare_fast_training,
    pretrain_step,
)

MODALITIES = ("inertial", "skeleton")
SHAPES = {"inertial": (50, 6), "skeleton": (50, 20, 3)}
FEATURES = {"inertial": 5632, "skeleton": 256}
NUM_CLASSES = 27
LR = 1e-3
FINETUNE_EPOCHS = 100  # examples/utd_mhad.py --finetune-epochs default

Step = Callable[[], Tensor]

BASELINE, SAME, THREADS = "baseline", "same model", "threads"
SAME_LAW, DROPOUT = "same law", "changes regulariser"


# ---- the pieces of one step ------------------------------------------------------------------
def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds so freed blocks are reused (Linux glibc only)."""
    name = ctypes.util.find_library("c")
    if not sys.platform.startswith("linux") or name is None:
        return False
    libc = ctypes.CDLL(name)
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(libc.mallopt(m_mmap_threshold, 1 << 30)) and bool(
        libc.mallopt(m_trim_threshold, 1 << 30)
    )


def build_model(seed: int, *, fast: bool = False) -> ContrastivePretrainer:
    """The hard-negative paper's UTD-MHAD pre-training model, initialised from ``seed``.

    ``fast``: the library's fast path (bfloat16 autocast, `prepare_fast_training`).
    """
    torch.manual_seed(seed)
    encoders: dict[str, nn.Module] = {
        "inertial": cmc_cmkm_inertial(),
        "skeleton": cmc_cmkm_skeleton(),
    }
    projections = {m: ProjectionHead(FEATURES[m]) for m in MODALITIES}
    criterion = HardNegativeLoss(temperature=0.1, beta=1.0, tau_plus=0.037)
    if not fast:
        return ContrastivePretrainer(encoders, projections, criterion)
    model = ContrastivePretrainer(encoders, projections, criterion, autocast_dtype=torch.bfloat16)
    prepare_fast_training(model)
    return model


def adam(module: nn.Module) -> torch.optim.Adam:
    return torch.optim.Adam(module.parameters(), lr=LR)


class Views:
    """Each call: a random batch of the samples, both modalities augmented by the presets."""

    def __init__(self, data: Mapping[str, Tensor], batch: int, seed: int) -> None:
        self.data, self.batch = data, batch
        self.augment = {
            "inertial": standardized_inertial_augment(),
            "skeleton": cmc_cmkm_skeleton_augment(),
        }
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self) -> dict[str, Tensor]:
        """The next step's augmented batch: ``modality -> "b ..."``."""
        n = len(self.data["inertial"])
        indices = torch.randperm(n, generator=self.generator)[: self.batch]
        return {
            m: self.augment[m](x[indices], generator=self.generator) for m, x in self.data.items()
        }


def library_step(model: ContrastivePretrainer, views: Views) -> Step:
    """`pretrain_step` as ``examples/utd_mhad.py`` calls it: the baseline."""
    optimizer = adam(model)
    return lambda: pretrain_step(model, views(), optimizer)


def custom_step(
    model: ContrastivePretrainer,
    views: Views,
    *,
    bf16: bool = False,
    compile_chains: bool = False,
    compile_forward: bool = False,
) -> Step:
    """The same step written out: optional autocast and ``torch.compile``; loss in float32."""
    optimizer = adam(model)
    chains: dict[str, Callable[[Tensor], Tensor]] = {
        m: nn.Sequential(model.encoders[m], model.projections[m]) for m in MODALITIES
    }
    if compile_chains:
        chains = {m: torch.compile(c, fullgraph=True, dynamic=False) for m, c in chains.items()}

    def forward(inputs: dict[str, Tensor]) -> Tensor:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            z = {m: chains[m](inputs[m]) for m in MODALITIES}
        loss: Tensor = model.criterion(z["inertial"].float(), z["skeleton"].float())
        return loss

    if compile_forward:
        forward = torch.compile(forward, fullgraph=True, dynamic=False)

    def step() -> Tensor:
        inputs = views()
        model.train()
        optimizer.zero_grad(set_to_none=True)
        loss = forward(inputs)
        loss.backward()
        optimizer.step()
        return loss.detach()

    return step


def with_threads(step: Step, threads: int, restore: int) -> Step:
    def run() -> Tensor:
        torch.set_num_threads(threads)
        try:
            return step()
        finally:
            torch.set_num_threads(restore)

    return run


# ---- dropout alternatives: edits of the built modules -------------------------------------------
class LockedDropout(nn.Module):
    """Dropout of ``"b n d"`` with one Bernoulli draw per ``(b, d)``, shared over ``n``."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        """``x * mask / (1 - p)`` with ``mask: "b 1 d"`` (training mode only)."""
        if not self.training or self.p == 0.0:
            return x
        if x.dim() != 3:
            raise ValueError(f"LockedDropout: x must be 'b n d', got shape {tuple(x.shape)}")
        keep = 1.0 - self.p
        mask = x.new_empty(x.shape[0], 1, x.shape[2]).bernoulli_(keep).div_(keep)
        return x * mask

    def extra_repr(self) -> str:
        """The drop probability, for ``repr``."""
        return f"p={self.p}"


def transformer_layers(model: nn.Module) -> list[nn.TransformerEncoderLayer]:
    layers = [m for m in model.modules() if isinstance(m, nn.TransformerEncoderLayer)]
    if not layers:
        raise RuntimeError("no nn.TransformerEncoderLayer in the model: nothing to edit")
    return layers


def feedforward_dropout_off(model: nn.Module) -> nn.Module:
    """Feed-forward dropout at p = 0; the residual and attention dropouts kept."""
    for layer in transformer_layers(model):
        layer.dropout.p = 0.0
    return model


def all_dropout_off(model: nn.Module) -> nn.Module:
    """Every dropout at p = 0, the attention dropout included (an upper bound)."""
    for module in model.modules():
        if isinstance(module, (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d)):
            module.p = 0.0
        elif isinstance(module, nn.MultiheadAttention):
            module.dropout = 0.0
    return model


def locked_feedforward_dropout(model: nn.Module) -> nn.Module:
    """`LockedDropout` with the same p in place of every feed-forward dropout."""
    for layer in transformer_layers(model):
        layer.dropout = LockedDropout(layer.dropout.p)
    return model


def channels_last_skeleton(model: ContrastivePretrainer) -> ContrastivePretrainer:
    model.encoders["skeleton"].to(memory_format=torch.channels_last)
    return model


# ---- the variants ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Variant:
    """A row of the table: how to build its step, and whether it keeps the semantics."""

    name: str
    kind: str
    build: Callable[[int, Views, int], Step]  # (seed, views, --threads) -> step
    compiles: bool = False


Builder = Callable[[int, Views, int], Step]


def _custom(
    edit: Callable[[ContrastivePretrainer], object] | None = None, **flags: bool
) -> Builder:
    def build(seed: int, views: Views, threads: int) -> Step:
        model = build_model(seed)
        if edit is not None:
            edit(model)
        return custom_step(model, views, **flags)

    return build


def _eager(
    edit: Callable[[nn.Module], object] | None = None,
    *,
    threads: int | None = None,
    fast: bool = False,
) -> Builder:
    def build(seed: int, views: Views, restore: int) -> Step:
        model = build_model(seed, fast=fast)
        if edit is not None:
            edit(model)
        step = library_step(model, views)
        return step if threads is None else with_threads(step, threads, restore)

    return build


VARIANTS: dict[str, Variant] = {
    "eager": Variant("eager float32 (baseline)", BASELINE, _eager()),
    "fast": Variant(
        "library fast path: bf16 autocast, channels-last, FastDropout", SAME_LAW, _eager(fast=True)
    ),
    "fast-dropout": Variant("FastDropout (float32)", SAME_LAW, _eager(use_fast_dropout)),
    "bf16": Variant("bf16 autocast (encoders + heads)", SAME, _custom(bf16=True)),
    "channels-last": Variant(
        "channels-last skeleton weights", SAME, _custom(channels_last_skeleton)
    ),
    "channels-last-bf16": Variant(
        "channels-last skeleton weights, bf16 autocast",
        SAME,
        _custom(channels_last_skeleton, bf16=True),
    ),
    "compile": Variant(
        "torch.compile encoders + heads", SAME, _custom(compile_chains=True), compiles=True
    ),
    "compile-bf16": Variant(
        "torch.compile encoders + heads, bf16 autocast",
        SAME,
        _custom(compile_chains=True, bf16=True),
        compiles=True,
    ),
    "compile-forward": Variant(
        "torch.compile forward + loss", SAME, _custom(compile_forward=True), compiles=True
    ),
    "compile-forward-bf16": Variant(
        "torch.compile forward + loss, bf16 autocast",
        SAME,
        _custom(compile_forward=True, bf16=True),
        compiles=True,
    ),
    "threads-1": Variant("eager float32, 1 thread", THREADS, _eager(threads=1)),
    "ff-dropout-0": Variant(
        "FF dropout p=0 (residual dropouts kept)", DROPOUT, _eager(feedforward_dropout_off)
    ),
    "dropout-off": Variant("all dropout off (upper bound)", DROPOUT, _eager(all_dropout_off)),
    "locked-dropout": Variant(
        "locked FF dropout (mask shared over time)", DROPOUT, _eager(locked_feedforward_dropout)
    ),
}


def describe_failure(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    message = f"{type(err).__name__}: {lines[0] if lines else ''}".rstrip(": ")
    return message.replace("|", "/")[:300]


def relax_recompile_limit() -> None:
    """Several compiled copies of the same classes share code objects; allow their entries."""
    config = torch._dynamo.config
    for name in ("recompile_limit", "cache_size_limit"):
        if hasattr(config, name):
            setattr(config, name, max(64, getattr(config, name)))


@dataclass
class Result:
    """The timed rounds of one variant (seconds), its first step and its last loss."""

    wall: list[float]
    cpu: list[float]
    warmup_s: float
    loss: float


def run_variants(
    variants: Mapping[str, Variant], data: Mapping[str, Tensor], args: argparse.Namespace
) -> tuple[dict[str, Result], dict[str, str]]:
    """Warm every variant up (compiling it), then time them interleaved round by round."""
    steps: dict[str, Step] = {}
    results: dict[str, Result] = {}
    failures: dict[str, str] = {}
    for key, variant in variants.items():
        views = Views(data, args.batch_size, args.seed)
        try:
            step = variant.build(args.seed, views, args.threads)
            start = time.perf_counter()
            step()
            warmup = time.perf_counter() - start
            step()  # a second step: compiled backward paths, optimizer state, oneDNN caches
        except Exception as err:  # noqa: BLE001 - reported in the table instead
            failures[key] = describe_failure(err)
            continue
        steps[key] = step
        results[key] = Result([], [], warmup, float("nan"))
    keys = list(steps)
    for r in range(args.rounds):
        shift = r % len(keys)
        for key in keys[shift:] + keys[:shift]:
            start, start_cpu = time.perf_counter(), time.process_time()
            loss = steps[key]()
            results[key].wall.append(time.perf_counter() - start)
            results[key].cpu.append(time.process_time() - start_cpu)
            results[key].loss = float(loss)
    return results, failures


def counts_for_headline(kind: str, clock: str) -> bool:
    return kind in (SAME, SAME_LAW) or (kind == THREADS and clock == "wall")


def speed_table(
    variants: Mapping[str, Variant],
    results: Mapping[str, Result],
    failures: Mapping[str, str],
    args: argparse.Namespace,
) -> tuple[dict[str, float], str]:
    """Print the table; return each variant's speed-up (chosen clock) and the clock's name."""
    base = results["eager"]
    base_wall, base_cpu = statistics.median(base.wall), statistics.median(base.cpu)
    steps_per_epoch = args.samples // args.batch_size
    print(
        "| variant | kind | pairs / s (wall) | pairs / CPU s | wall ms / step | CPU ms / step "
        f"| x eager (wall) | x eager (CPU) | s / epoch ({steps_per_epoch} steps) "
        "| first step s | last loss |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    speedups: dict[str, float] = {}
    for key, variant in variants.items():
        if key in failures:
            print(
                f"| {variant.name} | {variant.kind} | cannot run: {failures[key]} | | | | | | | | |"
            )
            continue
        result = results[key]
        wall, cpu = statistics.median(result.wall), statistics.median(result.cpu)
        x_wall, x_cpu = base_wall / wall, base_cpu / cpu
        speedups[key] = x_wall if args.clock == "wall" else x_cpu
        print(
            f"| {variant.name} | {variant.kind} | {args.batch_size / wall:,.0f} "
            f"| {args.batch_size / cpu:,.0f} | {wall * 1e3:.1f} | {cpu * 1e3:.1f} "
            f"| {x_wall:.2f} | {x_cpu:.2f} | {steps_per_epoch * wall:.2f} "
            f"| {result.warmup_s:.1f} | {result.loss:.4f} |"
        )
    print()
    return speedups, args.clock


# ---- profile -----------------------------------------------------------------------------------
PHASES = ("augment", "forward (encoders, heads, loss)", "backward", "Adam step")


def profile_step(data: Mapping[str, Tensor], args: argparse.Namespace, *, fast: bool) -> None:
    """``torch.profiler`` over steps of eager float32 or the fast path: top ops, phases."""
    model = build_model(args.seed, fast=fast)
    views = Views(data, args.batch_size, args.seed)
    optimizer = adam(model)

    def step() -> None:
        with record_function(PHASES[0]):
            inputs = views()
        model.train()
        optimizer.zero_grad(set_to_none=True)
        with record_function(PHASES[1]):
            loss = model(inputs)
        with record_function(PHASES[2]):
            loss.backward()
        with record_function(PHASES[3]):
            optimizer.step()

    step()
    step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(args.profile_steps):
            step()
    averages = prof.key_averages()
    total = sum(event.self_cpu_time_total for event in averages)
    name = "the library fast path" if fast else "eager float32"
    print(
        f"### Profile: {name}, {args.profile_steps} step(s) of B = {args.batch_size}, "
        f"{torch.get_num_threads()} thread(s)"
    )
    print()
    print("| phase | ms / step | share |")
    print("|---|---|---|")
    for name in PHASES:
        event = next((e for e in averages if e.key == name), None)
        if event is not None:
            ms = event.cpu_time_total / 1e3 / args.profile_steps
            print(f"| {name} | {ms:.1f} | {event.cpu_time_total / total:.0%} |")
    bernoulli = sum(e.self_cpu_time_total for e in averages if "bernoulli" in e.key)
    draws = sum(e.self_cpu_time_total for e in averages if e.key == "aten::random_")
    print()
    print(
        f"dropout's random numbers: aten::bernoulli_ {bernoulli / total:.0%}, aten::random_ "
        f"{draws / total:.0%} of the self CPU time"
    )
    print()
    print("```")
    print(averages.table(sort_by="self_cpu_time_total", row_limit=args.profile_rows))
    print("```")
    print()


# ---- the frozen-feature fine-tuning stage ------------------------------------------------------
def finetune_table(data: Mapping[str, Tensor], args: argparse.Namespace) -> None:
    """Feature extraction, one epoch of the MLP head, and a linear-probe fit, interleaved."""
    n = args.samples
    generator = torch.Generator().manual_seed(args.seed)
    features = {m: torch.randn(n, d, generator=generator) for m, d in FEATURES.items()}
    labels = torch.randint(NUM_CLASSES, (n,), generator=generator)
    concatenated = torch.cat([features[m] for m in MODALITIES], dim=1)
    encoders = build_model(args.seed).encoders
    torch.manual_seed(args.seed)
    head = MultimodalClassifier(FEATURES, NUM_CLASSES)
    optimizer = adam(head)

    def head_epoch() -> None:
        for indices in torch.randperm(n, generator=generator).split(args.batch_size):
            if len(indices) < 2:  # BatchNorm cannot train on one sample
                continue
            batch = {m: f[indices] for m, f in features.items()}
            finetune_step(head, batch, labels[indices], optimizer)

    def probe() -> None:
        LinearProbe(l2=1.0).fit(concatenated, labels)

    stages: dict[str, tuple[Callable[[], object], str]] = {
        f"feature extraction, both encoders (eval, {n} samples)": (
            lambda: extract_features(encoders, dict(data)),
            "once per run",
        ),
        f"MultimodalClassifier head, 1 epoch (batch {args.batch_size})": (
            head_epoch,
            f"for {FINETUNE_EPOCHS} epochs (the example's default)",
        ),
        f"LinearProbe(l2=1.0).fit, {n} x {concatenated.shape[1]:,}, {NUM_CLASSES} classes": (
            probe,
            "once per run",
        ),
    }
    for fn, _ in stages.values():
        fn()
    wall: dict[str, list[float]] = {name: [] for name in stages}
    cpu: dict[str, list[float]] = {name: [] for name in stages}
    for _ in range(args.finetune_rounds):
        for name, (fn, _) in stages.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            fn()
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    print(
        f"### Frozen-feature fine-tuning stage: medians of {args.finetune_rounds} interleaved "
        "rounds"
    )
    print()
    print("| stage | wall ms | CPU ms | per protocol cell |")
    print("|---|---|---|---|")
    for name, (_, note) in stages.items():
        w, c = statistics.median(wall[name]), statistics.median(cpu[name])
        if note.startswith("for "):
            note = f"{FINETUNE_EPOCHS * w:.1f} s wall {note}"
        print(f"| {name} | {w * 1e3:.1f} | {c * 1e3:.1f} | {note} |")
    print()


# ---- main --------------------------------------------------------------------------------------
def cpu_flags() -> str:
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return "unknown"
    wanted = ("avx512f", "avx512_bf16", "amx_bf16")
    return ", ".join(f for f in wanted if f in flags) or "none of avx512f/avx512_bf16/amx_bf16"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=64, help="pairs per step (64)")
    parser.add_argument(
        "--samples", type=int, default=431, help="samples the batches are drawn from (431)"
    )
    parser.add_argument("--rounds", type=int, default=20, help="timed rounds (20)")
    parser.add_argument("--threads", type=int, default=2, help="intra-op threads (2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--variants",
        default=",".join(VARIANTS),
        help="comma-separated subset of: " + ", ".join(VARIANTS) + " (eager always runs)",
    )
    parser.add_argument(
        "--no-compile", action="store_true", help="leave out the torch.compile variants"
    )
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="which median the speed-ups use: wall-clock time (default) or process CPU time",
    )
    parser.add_argument("--finetune-rounds", type=int, default=5, help="(5)")
    parser.add_argument(
        "--no-finetune", action="store_true", help="skip the fine-tuning stage table"
    )
    parser.add_argument(
        "--profile", action="store_true", help="also profile eager float32 and the fast path"
    )
    parser.add_argument("--profile-steps", type=int, default=3, help="(3)")
    parser.add_argument("--profile-rows", type=int, default=25, help="(25)")
    parser.add_argument("--default-malloc", action="store_true")
    args = parser.parse_args()
    chosen = [key.strip() for key in args.variants.split(",") if key.strip()]
    unknown = [key for key in chosen if key not in VARIANTS]
    if unknown:
        parser.error(f"--variants: unknown {unknown}; choose from {list(VARIANTS)}")
    for name in ("batch_size", "rounds", "threads", "finetune_rounds", "profile_steps"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.batch_size < 2 or args.samples < args.batch_size:
        parser.error("need 2 <= --batch-size <= --samples")

    malloc = "default glibc malloc" if args.default_malloc else "freed memory kept"
    if not args.default_malloc and not keep_freed_memory():
        malloc = "default malloc (mallopt unavailable)"
    torch.set_num_threads(args.threads)
    relax_recompile_limit()
    variants = {
        key: variant
        for key, variant in VARIANTS.items()
        if (key == "eager" or key in chosen)
        and not (variant.compiles and args.no_compile)
        and not (key == "threads-1" and args.threads == 1)
    }
    generator = torch.Generator().manual_seed(args.seed)
    data = {m: torch.randn(args.samples, *SHAPES[m], generator=generator) for m in MODALITIES}

    print(
        f"B = {args.batch_size} pairs of {args.samples}, {args.threads} thread(s), torch "
        f"{torch.__version__}, CPU capability {torch.backends.cpu.get_cpu_capability()} "
        f"({cpu_flags()}), {malloc}; medians of {args.rounds} interleaved rounds; speed-ups "
        f"over eager float32 by {args.clock} time\n"
    )
    if args.profile:
        profile_step(data, args, fast=False)
        profile_step(data, args, fast=True)
    results, failures = run_variants(variants, data, args)
    if "eager" in failures:
        raise RuntimeError(f"the eager float32 baseline failed: {failures['eager']}")
    print(f"### Pre-training step, B = {args.batch_size}")
    print()
    speedups, clock = speed_table(variants, results, failures, args)
    if not args.no_finetune:
        finetune_table(data, args)

    dropout = [
        f"{variants[key].name} {speedups[key]:.1f}x"
        for key in variants
        if variants[key].kind == DROPOUT and key in speedups
    ]
    same = {
        key: x
        for key, x in speedups.items()
        if key == "eager" or counts_for_headline(variants[key].kind, clock)
    }
    best = max(same, key=same.__getitem__)
    print(
        "dropout variants (change the regulariser; accuracy unverified): "
        + (", ".join(dropout) if dropout else "none run")
    )
    print(
        "best variant keeping the training semantics (same model, or the same dropout law, "
        f"whose accuracy docs/benchmarks.md checks): {variants[best].name}"
    )
    print(f"training speedup: {same[best]:.1f}x")


if __name__ == "__main__":
    main()
