"""The benchmark scripts run end to end on tiny sizes and print the lines the docs quote.

These are smoke tests: they check that each script still runs against the current API and
prints its tables, not the figures themselves (timings belong in the scripts' output, never in
a test).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import load_script

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"


def run_script(name: str, *args: str, timeout: int = 300) -> str:
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / name), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return result.stdout


def test_losses_failure_reason_names_the_allocation() -> None:
    bench = load_script(BENCHMARKS / "bench_losses.py", "bench_losses")
    error = RuntimeError(
        "[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate "
        "memory: you tried to allocate 549621596160 bytes. Error code 12"
    )
    assert bench.describe_failure(error) == ("out of memory: one allocation asked for 511.9 GiB")
    assert bench.describe_failure(RuntimeError("first line\nsecond")) == "first line"
    assert bench.describe_failure(MemoryError()) == "MemoryError"


def test_losses_memory_table() -> None:
    out = run_script("bench_losses.py", "--sections", "memory", "--memory-batches", "64")
    assert "| mmcontrast HardNegativeLoss, chunk_size=4096 |" in out
    row = next(line for line in out.splitlines() if line.startswith("| mmcontrast InfoNCE"))
    assert "GiB" in row and "cannot run" not in row


def test_augment_prints_the_quoted_speedup() -> None:
    pytest.importorskip("scipy")
    out = run_script("bench_augment.py", "--batch", "8", "--rounds", "2", "--breakdown")
    assert "| skeleton | mmcontrast, batched |" in out
    assert "| IMU | channel shuffle, apply_params |" in out
    assert out.rstrip().splitlines()[-1].startswith("augment speedup: ")


def test_training_prints_the_quoted_speedup() -> None:
    out = run_script(
        "bench_training.py",
        "--batch-size",
        "8",
        "--samples",
        "16",
        "--rounds",
        "1",
        "--finetune-rounds",
        "1",
        "--no-compile",
        "--profile",
        "--profile-steps",
        "1",
        "--profile-rows",
        "5",
    )
    lines = out.rstrip().splitlines()
    assert "| eager float32 (baseline) | baseline |" in out
    assert "| bf16 autocast (encoders + heads) | same model |" in out
    assert "| eager float32, 1 thread | threads |" in out
    assert "| library fast path: bf16 autocast, channels-last, FastDropout | same law |" in out
    assert "| FastDropout (float32) | same law |" in out
    assert "### Profile: the library fast path" in out
    assert "| locked FF dropout (mask shared over time) | changes regulariser |" in out
    assert "cannot run" not in out
    assert "torch.compile" not in out
    assert "of the self CPU time" in out and "| backward |" in out
    assert any(line.startswith("| LinearProbe(l2=1.0).fit, 16 x 5,888") for line in lines)
    assert lines[-3].startswith("dropout variants (change the regulariser; accuracy unverified): ")
    assert re.fullmatch(r"training speedup: \d+\.\dx", lines[-1])


def test_encoders_attention_table() -> None:
    out = run_script(
        "bench_encoders.py", "--skip-encoders", "--rounds", "1", "--lengths", "16", "--no-memory"
    )
    assert "| T | textbook ms | SDPA ms | speed-up |" in out
    assert any(line.startswith("| 16 |") for line in out.splitlines())


def test_fusion_runs() -> None:
    out = run_script(
        "bench_fusion.py",
        "--batch",
        "8",
        "--tokens",
        "4",
        "--dim",
        "8",
        "--hidden",
        "8",
        "--rounds",
        "1",
    )
    assert "| Bi-GRU, modality tokens, 20% missing |" in out
    assert "| QualityGuidedAttention |" in out


def test_clamp_fraction_runs() -> None:
    out = run_script("clamp_fraction.py", "--batch", "16", "--seeds", "1")
    rows = [line for line in out.splitlines() if line.startswith("| 0.")]
    assert rows and all(line.count("%") >= 1 for line in rows)


def test_evaluation_prints_the_quoted_times() -> None:
    out = run_script(
        "bench_evaluation.py", "--train", "40", "--test", "20", "--repeats", "1", "--auto"
    )
    lines = out.rstrip().splitlines()
    assert "| classifier | first call (s) | median of later calls (s) | test accuracy |" in out
    for name in ("LinearProbe()", 'LinearProbe(l2="auto")', "KNNClassifier(k=20)"):
        assert any(line.startswith(f"| {name} | ") for line in lines), name
    assert lines[-1].startswith("LinearProbe fit + predict: first call ")
    assert lines[-1].endswith("(target < 2 s)")
