"""Loss speed and memory against the three-GEMM floor, textbook code and peer libraries.

Speed: the median wall time of one forward + backward step on two leaf tensors ``(B, d)``,
divided by the median time of the *three-GEMM floor* measured in the same process
(``S = a @ b.T``, ``dA = S @ b``, ``dB = S.T @ a``: the matrix products any exact
implementation must do). Methods are interleaved round by round so that machine noise hits
them alike. Peers run when installed: pytorch-metric-learning (``NTXentLoss``), lightly
(``NTXentLoss``; its loss module is imported with an import hook that stubs torchvision,
which this CPU environment cannot load, see ``--help``), and an open_clip-style symmetric
CLIP loss written out here.

Memory: each method runs in a fresh process (address space capped, so an impossible
allocation fails instead of swapping): the peak resident set size (``VmHWM``, reset through
``/proc/self/clear_refs`` once the inputs exist) minus the resident size at that point, over
two steps; the total peak of the process is reported too. Linux only.

Run: ``python benchmarks/bench_losses.py`` (all sections) or ``--sections speed``; prints
markdown tables.
"""

from __future__ import annotations

import argparse
import importlib.abc
import importlib.machinery
import re
import resource
import statistics
import subprocess
import sys
import time
import types
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from mmcontrast.losses.functional import debiased_loss, hard_negative_loss, info_nce


def describe_failure(err: BaseException) -> str:
    """A one-line reason: the size an allocation asked for, else the error's first line."""
    text = str(err)
    asked = re.search(r"tried to allocate (\d+) bytes", text)
    if asked is not None:
        return f"out of memory: one allocation asked for {int(asked.group(1)) / 2**30:,.1f} GiB"
    return text.splitlines()[0][:100] if text else type(err).__name__


TAU, BETA, TAU_PLUS = 0.1, 1.0, 0.1
LossFn = Callable[[Tensor, Tensor], Tensor]


# ---- textbook implementations (what one writes from the papers, no tricks) ----------------
def textbook_info_nce(a: Tensor, b: Tensor) -> Tensor:
    """Symmetric InfoNCE / CLIP loss as open_clip's ``ClipLoss`` computes it (no gather)."""
    logits = F.normalize(a, dim=1) @ F.normalize(b, dim=1).T / TAU
    target = torch.arange(a.shape[0])
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))


def textbook_nt_xent(a: Tensor, b: Tensor) -> Tensor:
    """SimCLR NT-Xent over the 2B rows: masked (2B x 2B) cross-entropy."""
    z = F.normalize(torch.cat([a, b]), dim=1)
    n = a.shape[0]
    logits = (z @ z.T / TAU).masked_fill(torch.eye(2 * n, dtype=torch.bool), float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(n)])
    return F.cross_entropy(logits, target)


def textbook_hard_negative(a: Tensor, b: Tensor, beta: float = BETA) -> Tensor:
    """The released estimator's formula (exp, mask, reweight, clamp), with K = N = B - 1."""
    batch = a.shape[0]
    sim = torch.exp(F.normalize(a, dim=1) @ F.normalize(b, dim=1).T / TAU)
    mask = ~torch.eye(batch, dtype=torch.bool)
    n = batch - 1
    losses = []
    for s in (sim, sim.T):
        pos = s.diagonal()
        neg = s.masked_select(mask).view(batch, n)
        imp = (beta * neg.log()).exp()
        reweight = (imp * neg).sum(dim=1) / imp.mean(dim=1)
        ng = (reweight - TAU_PLUS * n * pos) / (1 - TAU_PLUS)
        ng = torch.clamp(ng, min=n * torch.e ** (-1 / TAU))
        losses.append(-torch.log(pos / (pos + ng)))
    return torch.cat(losses).mean()


# ---- peers -----------------------------------------------------------------------------------
class _StubModule(types.ModuleType):
    """A placeholder torchvision: every attribute is a class that refuses to be used."""

    def __getattr__(self, name: str) -> type:
        if name.startswith("__"):
            raise AttributeError(name)

        def unavailable(*_: object, **__: object) -> None:
            raise RuntimeError(f"{self.__name__}.{name} is a benchmark placeholder")

        return type(name, (), {"__init__": unavailable, "__call__": unavailable})


class _StubTorchvision(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname: str, path: object, target: object = None) -> object:
        if fullname == "torchvision" or fullname.startswith("torchvision."):
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = _StubModule(spec.name)
        module.__path__ = []
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        return None


def peers() -> dict[str, tuple[LossFn, str]]:
    """Peer losses that are installed: name -> (fn, geometry)."""
    found: dict[str, tuple[LossFn, str]] = {}
    try:
        from pytorch_metric_learning.losses import NTXentLoss as PmlNTXent

        pml = PmlNTXent(temperature=TAU)

        def pml_nt_xent(a: Tensor, b: Tensor) -> Tensor:
            index = torch.arange(a.shape[0])
            return pml(torch.cat([a, b]), torch.cat([index, index]))

        found["pytorch-metric-learning NTXentLoss"] = (pml_nt_xent, "all")
    except ImportError:
        pass
    try:
        import torchvision  # noqa: F401
    except Exception:  # a broken or absent torchvision: lightly's loss module does not need it
        sys.modules.pop("torchvision", None)
        sys.meta_path.insert(0, _StubTorchvision())
    try:
        from lightly.loss import NTXentLoss as LightlyNTXent

        found["lightly NTXentLoss"] = (LightlyNTXent(temperature=TAU), "all")
    except ImportError:
        pass
    return found


def methods(chunk: int, with_peers: bool = True) -> dict[str, tuple[LossFn, str]]:
    """Name -> (loss function, target); every function returns a scalar loss."""
    table: dict[str, tuple[LossFn, str]] = {
        "textbook / open_clip-style CLIP loss (2 x cross_entropy)": (textbook_info_nce, ""),
        "mmcontrast InfoNCE": (lambda a, b: info_nce(a, b, temperature=TAU), "<= 1.5x"),
        f"mmcontrast InfoNCE, chunk_size={chunk}": (
            lambda a, b: info_nce(a, b, temperature=TAU, chunk_size=chunk),
            "",
        ),
        "textbook HardNegativeLoss (released formula)": (textbook_hard_negative, ""),
        "mmcontrast HardNegativeLoss": (
            lambda a, b: hard_negative_loss(a, b, temperature=TAU, beta=BETA, tau_plus=TAU_PLUS),
            "<= 2.0x",
        ),
        f"mmcontrast HardNegativeLoss, chunk_size={chunk}": (
            lambda a, b: hard_negative_loss(
                a, b, temperature=TAU, beta=BETA, tau_plus=TAU_PLUS, chunk_size=chunk
            ),
            "",
        ),
        "textbook DebiasedContrastiveLoss": (lambda a, b: textbook_hard_negative(a, b, 0.0), ""),
        "mmcontrast DebiasedContrastiveLoss": (
            lambda a, b: debiased_loss(a, b, temperature=TAU, tau_plus=TAU_PLUS),
            "<= 3.0x",
        ),
        "textbook NT-Xent (2B x 2B cross_entropy)": (textbook_nt_xent, ""),
        "mmcontrast InfoNCE, negatives='all' (NT-Xent)": (
            lambda a, b: info_nce(a, b, temperature=TAU, negatives="all"),
            "",
        ),
    }
    if with_peers:
        for name, (fn, _) in peers().items():
            table[name] = (fn, "")
    return table


def make_inputs(batch: int, dim: int) -> tuple[Tensor, Tensor]:
    g = torch.Generator().manual_seed(0)
    a = torch.randn(batch, dim, generator=g)
    b = 0.5 * a + torch.randn(batch, dim, generator=g)
    return a.requires_grad_(), b.requires_grad_()


def floor_step(a: Tensor, b: Tensor) -> None:
    with torch.no_grad():
        s = a @ b.T
        s @ b  # noqa: B018 - the timed work
        s.T @ a  # noqa: B018


def step(fn: LossFn, a: Tensor, b: Tensor) -> float:
    a.grad = b.grad = None
    loss = fn(a, b)
    loss.backward()
    return float(loss.detach())


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def speed_table(batch: int, dim: int, repeats: int, chunk: int) -> None:
    a, b = make_inputs(batch, dim)
    table = methods(chunk)
    compiled = {
        "mmcontrast InfoNCE, torch.compile": torch.compile(
            lambda x, y: info_nce(x, y, temperature=TAU)
        ),
        "mmcontrast HardNegativeLoss, torch.compile": torch.compile(
            lambda x, y: hard_negative_loss(x, y, temperature=TAU, beta=BETA, tau_plus=TAU_PLUS)
        ),
    }
    for name, fn in compiled.items():
        table[name] = (fn, "")
    runnable: dict[str, LossFn] = {}
    values: dict[str, float] = {}
    failures: dict[str, str] = {}
    floor_step(a, b)
    for name, (fn, _) in table.items():  # warm-up (and compilation)
        try:
            values[name] = step(fn, a, b)
            runnable[name] = fn
        except (RuntimeError, MemoryError) as err:
            failures[name] = describe_failure(err)
    times: dict[str, list[float]] = {"floor": [], **{name: [] for name in runnable}}
    for _ in range(repeats):
        times["floor"].append(timed(lambda: floor_step(a, b)))
        for name, fn in runnable.items():
            times[name].append(timed(lambda fn=fn: step(fn, a, b)))  # type: ignore[misc]
    floor = statistics.median(times["floor"])

    print(f"### Speed: B = {batch}, d = {dim}, float32, forward + backward")
    print()
    print(
        f"{torch.get_num_threads()} CPU threads, torch {torch.__version__}, median of "
        f"{repeats} interleaved rounds, temperature {TAU}, beta {BETA}, tau_plus {TAU_PLUS}."
    )
    print()
    print("| method | median s | x floor | target | loss |")
    print("|---|---|---|---|---|")
    print(f"| three-GEMM floor (S = a bᵀ, S b, Sᵀ a) | {floor:.3f} | 1.00 | | |")
    for name, (_, target) in table.items():
        if name in failures:
            print(f"| {name} | – | cannot run: {failures[name]} | | |")
            continue
        median = statistics.median(times[name])
        ratio = median / floor
        verdict = ""
        if target:
            limit = float(target.split()[-1].rstrip("x"))
            verdict = f"{target} {'met' if ratio <= limit else 'MISSED'}"
        print(f"| {name} | {median:.3f} | {ratio:.2f} | {verdict} | {values[name]:.4f} |")
    print()


# ---- memory ----------------------------------------------------------------------------------
def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


MEMORY_METHODS: dict[str, Callable[[int], LossFn]] = {
    "mmcontrast HardNegativeLoss (plain)": lambda chunk: (
        lambda a, b: hard_negative_loss(a, b, temperature=TAU, beta=BETA, tau_plus=TAU_PLUS)
    ),
    "mmcontrast HardNegativeLoss, chunk_size=4096": lambda chunk: (
        lambda a, b: hard_negative_loss(
            a, b, temperature=TAU, beta=BETA, tau_plus=TAU_PLUS, chunk_size=4096
        )
    ),
    "mmcontrast InfoNCE, chunk_size=4096": lambda chunk: (
        lambda a, b: info_nce(a, b, temperature=TAU, chunk_size=4096)
    ),
    "textbook / open_clip-style CLIP loss": lambda chunk: textbook_info_nce,
    "textbook HardNegativeLoss (released formula)": lambda chunk: textbook_hard_negative,
}


def memory_child(name: str, batch: int, dim: int, limit_gib: float) -> None:
    limit = int(limit_gib * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    torch.set_num_threads(2)
    if name in MEMORY_METHODS:
        fn = MEMORY_METHODS[name](batch)
    else:
        fn = peers()[name][0]
    a, b = make_inputs(batch, dim)
    base = _status_kib("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets the peak resident size (VmHWM) to the current one
    try:
        for _ in range(2):
            step(fn, a, b)
    except (RuntimeError, MemoryError) as err:
        print("FAILED", describe_failure(err))
        return
    peak = _status_kib("VmHWM")
    print(f"OK {max(0, peak - base) * 1024} {peak * 1024}")


def memory_cell(name: str, batch: int, dim: int, limit_gib: float) -> str:
    cmd = [sys.executable, __file__, "--memory-child", name, "--dim", str(dim)]
    cmd += ["--batch", str(batch), "--memory-limit-gib", str(limit_gib)]
    run = subprocess.run(cmd, capture_output=True, text=True)
    lines = run.stdout.strip().splitlines()
    if run.returncode != 0 or not lines:
        return f"cannot run (exit {run.returncode})"
    last = lines[-1]
    if last.startswith("FAILED"):
        return "cannot run: " + last[len("FAILED ") :]
    _, extra, total = last.split()
    return f"{int(extra) / 2**20:,.0f} (total {int(total) / 2**30:.2f} GiB)"


def memory_table(batches: list[int], dim: int, limit_gib: float) -> None:
    names = list(MEMORY_METHODS) + list(peers())
    print(f"### Peak memory: extra MiB over the inputs (total process peak), d = {dim}")
    print()
    print(f"Fresh process per cell, address space capped at {limit_gib:g} GiB, two steps.")
    print()
    print("| method | " + " | ".join(f"B = {b:,}" for b in batches) + " |")
    print("|---|" + "---|" * len(batches))
    for name in names:
        cells = [memory_cell(name, batch, dim, limit_gib) for batch in batches]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print()


def chunk_table(batch: int, dim: int, repeats: int) -> None:
    a, b = make_inputs(batch, dim)
    plain = lambda x, y: hard_negative_loss(x, y, temperature=TAU, beta=BETA, tau_plus=TAU_PLUS)  # noqa: E731
    chunked = lambda x, y: hard_negative_loss(  # noqa: E731
        x, y, temperature=TAU, beta=BETA, tau_plus=TAU_PLUS, chunk_size=4096
    )
    step(plain, a, b)
    step(chunked, a, b)
    times: dict[str, list[float]] = {"plain": [], "chunked": []}
    for _ in range(repeats):
        times["plain"].append(timed(lambda: step(plain, a, b)))
        times["chunked"].append(timed(lambda: step(chunked, a, b)))
    p, c = statistics.median(times["plain"]), statistics.median(times["chunked"])
    print(f"### Chunked versus plain HardNegativeLoss, B = {batch}, d = {dim}")
    print()
    print("| path | median s | x plain | target |")
    print("|---|---|---|---|")
    print(f"| plain | {p:.3f} | 1.00 | |")
    verdict = "met" if c / p <= 1.3 else "MISSED"
    print(f"| chunk_size=4096 | {c:.3f} | {c / p:.2f} | <= 1.3x {verdict} |")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=4096)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--chunk", type=int, default=512)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--sections", default="speed,chunk,memory", help="comma-separated: speed, chunk, memory"
    )
    parser.add_argument(
        "--memory-batches", default="1024,4096,16384,65536", help="batch sizes of the memory table"
    )
    parser.add_argument("--memory-limit-gib", type=float, default=16.0)
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child, args.batch, args.dim, args.memory_limit_gib)
        return
    torch.set_num_threads(args.threads)
    sections = set(args.sections.split(","))
    if "speed" in sections:
        speed_table(args.batch, args.dim, args.repeats, args.chunk)
    if "chunk" in sections:
        chunk_table(8192, args.dim, max(3, args.repeats // 2))
    if "memory" in sections:
        batches = [int(x) for x in args.memory_batches.split(",")]
        memory_table(batches, args.dim, args.memory_limit_gib)


if __name__ == "__main__":
    main()
