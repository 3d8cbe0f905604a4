# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Scaling the loss: chunked memory and a two-process run
#
# Two ways to outgrow one batch on one device, both exact:
#
# * `chunk_size=c` keeps nothing of size `B x B` between forward and backward: memory grows
#   as `B * c` instead of `B²`;
# * `gather_distributed=True` lets every process compare its anchors with the samples of all
#   processes, with the single-process gradients.

# %%
import subprocess
import sys
import time
from pathlib import Path

import matplotlib.pyplot as plt
import torch

from mmcontrast.losses import HardNegativeLoss

torch.set_num_threads(2)

# %% [markdown]
# ## Memory of one forward + backward step
#
# Each measurement runs in a fresh Python process and reads the peak resident memory that the
# step added (Linux: `VmHWM`, reset after the inputs exist).

# %%
CHILD = r"""
import sys, torch
from mmcontrast.losses import HardNegativeLoss
batch, chunk = int(sys.argv[1]), sys.argv[2]
torch.set_num_threads(2)
a = torch.randn(batch, 128, requires_grad=True)
b = torch.randn(batch, 128, requires_grad=True)
def kib(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
base = kib("VmRSS")
open("/proc/self/clear_refs", "w").write("5")
loss = HardNegativeLoss(tau_plus=0.037, chunk_size=None if chunk == "none" else int(chunk))(a, b)
loss.backward()
print((kib("VmHWM") - base) / 1024)
"""


def peak_mib(batch, chunk):
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(batch), str(chunk)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


batches = [1024, 2048, 4096, 8192]
plain = [peak_mib(n, "none") for n in batches]
chunked = [peak_mib(n, 512) for n in batches]
for n, p, c in zip(batches, plain, chunked, strict=True):
    matrix = 4 * n * n / 2**20
    print(
        f"B = {n:5d}: plain {p:7.1f} MiB, chunk_size=512 {c:6.1f} MiB, one B x B {matrix:6.1f} MiB"
    )

# %%
plt.figure(figsize=(6, 3.5))
plt.plot(batches, plain, "o-", label="chunk_size=None (keeps B x B)")
plt.plot(batches, chunked, "s-", label="chunk_size=512")
plt.plot(batches, [4 * n * n / 2**20 for n in batches], "k:", label="one B x B float32 matrix")
plt.xscale("log", base=2)
plt.yscale("log")
plt.xlabel("batch size B")
plt.ylabel("peak extra memory (MiB)")
plt.legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Same value, same gradients, similar time

# %%
a = torch.randn(4096, 128, requires_grad=True)
b = torch.randn(4096, 128, requires_grad=True)
for chunk in (None, 512):
    criterion = HardNegativeLoss(tau_plus=0.037, chunk_size=chunk)
    start = time.perf_counter()
    loss = criterion(a, b)
    (grad,) = torch.autograd.grad(loss, [a])
    print(
        f"chunk_size={chunk}: loss {loss.item():.6f}, |grad| {grad.norm():.6f}, "
        f"{time.perf_counter() - start:.2f} s"
    )

# %% [markdown]
# ## Two processes
#
# `examples/distributed_loss.py` starts two CPU processes (gloo backend), gives each half of a
# batch, and compares the mean of their `gather_distributed=True` losses, and their averaged
# gradients, with one process computing the whole batch.

# %%
script = Path.cwd()
while not (script / "examples" / "distributed_loss.py").exists() and script != script.parent:
    script = script.parent
result = subprocess.run(
    [sys.executable, str(script / "examples" / "distributed_loss.py")],
    capture_output=True,
    text=True,
    check=True,
)
print(result.stdout)
