"""How the recommended UTD-MHAD recipe was chosen: pre-training settings and evaluation pipelines
compared on the validation subject only (``--protocol cmc-cmkm``: subjects 1, 3, 5 train, 7
validates; the test subjects 2, 4, 6, 8 are never loaded into a score).

One call pre-trains one configuration (cached under ``--cache-dir``, keyed by it) and appends
one JSON line per (evaluation, label fraction, label seed, pipeline) to ``--out``, each with the
validation accuracy and the command line that reproduces it::

    python docs/scripts/recipe_search.py --root ../shared/data/utd_mhad --method hnl \\
        --aug paper --pipelines mlp,probe --label-seeds 0,1,2 \\
        --out docs/results/recipe-search/runs.jsonl
    python docs/scripts/recipe_search.py --root ../shared/data/utd_mhad --method hnl \\
        --norm --aug standardized --pipelines mlp,probe,ft --out ...

Settings compared (``docs/results.md``, "How the recipe was chosen"):

* ``--norm``: IMU channels standardised with the training subjects' statistics (otherwise raw
  g and deg/s, as in the papers);
* ``--aug paper``: CMC-CMKM's IMU augmentations (sigma 1 in raw units, channel shuffle);
  ``--aug standardized``: `standardized_inertial_augment` (sigma 0.05 / 0.1, no shuffle);
* pipelines: ``mlp`` (frozen encoders, the hard-negative paper's concat MLP head, 100 epochs),
  ``probe`` / ``probe<L2>`` (a linear probe on the concatenated standardised features with an
  L2 weight on the mean loss, default 1e-3), ``ft`` (end-to-end fine-tuning, encoders at
  ``--enc-lr``, head at 1e-3, the supervised baseline's skeleton augmentations);
* ``balanced``: `mmcontrast.evaluation.LinearProbe` (``l2=1``) on the concatenation of each
  modality's standardised features divided by the square root of its width;
* ``--method supervised``: the same encoders trained from scratch (``ft`` at rate 1e-3).

The last epoch is scored (no epoch picked on the validation subject). A research script:
deliberately plain, and kept as it ran so that its numbers can be reproduced.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import shlex
import sys
import time
from pathlib import Path

import torch
from torch import Tensor, nn

from mmcontrast.augment.presets import (
    cmc_cmkm_inertial_augment,
    cmc_cmkm_skeleton_augment,
    cmc_cmkm_supervised_skeleton_augment,
    standardized_inertial_augment,
)
from mmcontrast.data import cross_subject_split, label_fraction_subset, load_utd_mhad
from mmcontrast.encoders import presets
from mmcontrast.evaluation import LinearProbe
from mmcontrast.heads import MultimodalClassifier, ProjectionHead
from mmcontrast.losses import DebiasedContrastiveLoss, HardNegativeLoss, InfoNCE

MODS = ("inertial", "skeleton")

p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
p.add_argument("--root", type=Path, required=True, help="UTD-MHAD folder")
p.add_argument("--out", type=Path, required=True, help="JSON lines appended here")
p.add_argument("--cache-dir", type=Path, default=Path("/tmp/mmcontrast-recipe-search"))
p.add_argument("--method", default="hnl", choices=("hnl", "cmc", "debiased", "supervised"))
p.add_argument("--norm", action="store_true", help="standardise the IMU channels")
p.add_argument("--aug", default="paper", choices=("paper", "standardized"))
p.add_argument("--epochs", type=int, default=100)
p.add_argument("--protocol", default="cmc-cmkm", choices=("cmc-cmkm",))
p.add_argument("--evals", default="inertial,multimodal")
p.add_argument("--fractions", default="1.0,0.05")
p.add_argument("--label-seeds", default="0")
p.add_argument("--pipelines", default="mlp,probe")
p.add_argument("--ft-epochs", type=int, default=100)
p.add_argument("--enc-lr", type=float, default=1e-4)
p.add_argument("--seed", type=int, default=0)
p.add_argument("--threads", type=int, default=2)
a = p.parse_args()
torch.set_num_threads(a.threads)
COMMAND = shlex.join(["python", "docs/scripts/recipe_search.py", *sys.argv[1:]])

data = load_utd_mhad(a.root)
train, val, _test = data.split(
    cross_subject_split(data.subject, protocol=a.protocol), normalize_inertial=a.norm
)
del _test  # never scored here


def enc(m: str) -> tuple[nn.Module, int]:
    if m == "inertial":
        return presets.cmc_cmkm_inertial(), 5632
    return presets.cmc_cmkm_skeleton(), 256


def aug() -> dict[str, nn.Module]:
    imu = cmc_cmkm_inertial_augment() if a.aug == "paper" else standardized_inertial_augment()
    return {"inertial": imu, "skeleton": cmc_cmkm_skeleton_augment()}


def crit() -> nn.Module:
    if a.method == "hnl":
        return HardNegativeLoss(temperature=0.1, beta=1.0, tau_plus=0.037)
    if a.method == "cmc":
        return InfoNCE(temperature=0.1)
    return DebiasedContrastiveLoss(temperature=0.1, tau_plus=0.037)


def pretrain() -> dict[str, nn.Module]:
    config = [a.method, a.norm, a.aug, a.epochs, a.protocol, a.seed]
    key = hashlib.sha256(json.dumps(config).encode()).hexdigest()[:12]
    path = a.cache_dir / f"pre-{key}.pt"
    torch.manual_seed(a.seed)
    encs = {m: enc(m)[0] for m in MODS}
    if path.is_file():
        state = torch.load(path, weights_only=True)
        for m in MODS:
            encs[m].load_state_dict(state[m])
        return encs
    heads = {m: ProjectionHead(enc(m)[1]) for m in MODS}
    augs, c = aug(), crit()
    params = [q for m in MODS for q in (*encs[m].parameters(), *heads[m].parameters())]
    opt = torch.optim.Adam(params, 1e-3)
    g = torch.Generator().manual_seed(a.seed)
    n = len(train)
    for epoch in range(a.epochs):
        total = 0.0
        for m in MODS:
            encs[m].train()
            heads[m].train()
        for idx in torch.randperm(n, generator=g).split(64):
            if len(idx) < 64:
                continue
            v = {m: augs[m](getattr(train, m)[idx], generator=g) for m in MODS}
            z = {m: heads[m](encs[m](v[m])) for m in MODS}
            loss = c(z["inertial"], z["skeleton"])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach())
        if epoch % 10 == 9:
            print(f"epoch {epoch + 1} loss {total:.3f}", file=sys.stderr, flush=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({m: encs[m].state_dict() for m in MODS}, path)
    return encs


@torch.no_grad()
def feats(e: nn.Module, x: Tensor) -> Tensor:
    e.eval()
    return torch.cat([e(x[i : i + 256]).flatten(1) for i in range(0, len(x), 256)])


def probe(xtr: Tensor, ytr: Tensor, xte: Tensor, l2: float) -> Tensor:
    mu, sd = xtr.mean(0), xtr.std(0) + 1e-6
    xtr, xte = (xtr - mu) / sd, (xte - mu) / sd
    w = torch.zeros(xtr.shape[1], 27, requires_grad=True)
    b = torch.zeros(27, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=200, line_search_fn="strong_wolfe")

    def closure() -> Tensor:
        opt.zero_grad()
        loss = nn.functional.cross_entropy(xtr @ w + b, ytr) + l2 * (w**2).sum()
        loss.backward()
        return loss

    opt.step(closure)  # type: ignore[no-untyped-call]
    return (xte @ w + b).argmax(1)


def train_head(
    f: dict[str, Tensor], y: Tensor, fv: dict[str, Tensor], mods: tuple[str, ...]
) -> Tensor:
    torch.manual_seed(1)
    head = MultimodalClassifier({m: f[m].shape[1] for m in mods}, 27)
    opt = torch.optim.Adam(head.parameters(), 1e-3)
    g = torch.Generator().manual_seed(1)
    for _ in range(100):
        head.train()
        for idx in torch.randperm(len(y), generator=g).split(64):
            if len(idx) < 2:
                continue
            loss = nn.functional.cross_entropy(head({m: f[m][idx] for m in mods}), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    head.eval()
    with torch.no_grad():
        return head(fv).argmax(1)


def finetune(
    encs: dict[str, nn.Module], mods: tuple[str, ...], lab: object, enc_lr: float
) -> Tensor:
    encs = {m: copy.deepcopy(encs[m]) for m in mods}
    torch.manual_seed(1)
    head = MultimodalClassifier({m: enc(m)[1] for m in mods}, 27)
    groups = [{"params": head.parameters(), "lr": 1e-3}]
    groups += [{"params": encs[m].parameters(), "lr": enc_lr} for m in mods]
    opt = torch.optim.Adam(groups)
    g = torch.Generator().manual_seed(1)
    sk = cmc_cmkm_supervised_skeleton_augment()
    y = lab.label  # type: ignore[attr-defined]
    for _ in range(a.ft_epochs):
        head.train()
        for m in mods:
            encs[m].train()
        for idx in torch.randperm(len(y), generator=g).split(64):
            if len(idx) < 2:
                continue
            x = {m: getattr(lab, m)[idx] for m in mods}
            if "skeleton" in x:
                x["skeleton"] = sk(x["skeleton"], generator=g)
            out = head({m: encs[m](x[m]).flatten(1) for m in mods})
            loss = nn.functional.cross_entropy(out, y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    fv = {m: feats(encs[m], getattr(val, m)) for m in mods}
    head.eval()
    with torch.no_grad():
        return head(fv).argmax(1)


def log(**record: object) -> None:
    record.update(
        method=a.method, norm=a.norm, aug=a.aug, epochs=a.epochs, protocol=a.protocol,
        seed=a.seed, enc_lr=a.enc_lr, ft_epochs=a.ft_epochs, command=COMMAND,
    )  # fmt: skip
    line = json.dumps(record)
    print(line, flush=True)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    with a.out.open("a") as file:
        file.write(line + "\n")


start = time.time()
if a.method == "supervised":
    torch.manual_seed(a.seed)
    encoders = {m: enc(m)[0] for m in MODS}
else:
    encoders = pretrain()
pretrain_seconds = time.time() - start
f_train = {m: feats(encoders[m], getattr(train, m)) for m in MODS}
f_val = {m: feats(encoders[m], getattr(val, m)) for m in MODS}
for ev in a.evals.split(","):
    mods = MODS if ev == "multimodal" else (ev,)
    for fr in map(float, a.fractions.split(",")):
        for ls in map(int, a.label_seeds.split(",")):
            sub = label_fraction_subset(train.label, fraction=fr, seed=ls)
            lab = train.subset(sub)
            for pl in a.pipelines.split(","):
                t1 = time.time()
                if pl == "mlp":
                    pred = train_head(
                        {m: f_train[m][sub] for m in mods},
                        lab.label,
                        {m: f_val[m] for m in mods},
                        mods,
                    )
                elif pl.startswith("probe"):
                    l2 = float(pl[5:] or 1e-3)
                    xtr = torch.cat([f_train[m][sub] for m in mods], 1)
                    pred = probe(xtr, lab.label, torch.cat([f_val[m] for m in mods], 1), l2)
                elif pl == "balanced":  # each modality standardised, scaled by 1/sqrt(width)
                    blocks_tr, blocks_va = [], []
                    for m in mods:
                        xtr, xva = f_train[m][sub], f_val[m]
                        mu, sd = xtr.mean(0), xtr.std(0) + 1e-6
                        width = xtr.shape[1] ** 0.5
                        blocks_tr.append((xtr - mu) / sd / width)
                        blocks_va.append((xva - mu) / sd / width)
                    balanced = LinearProbe(l2=1.0, standardize=False)
                    balanced.fit(torch.cat(blocks_tr, 1), lab.label)
                    pred = balanced.predict(torch.cat(blocks_va, 1))
                elif pl == "ft":
                    rate = a.enc_lr if a.method != "supervised" else 1e-3
                    pred = finetune(encoders, mods, lab, rate)
                else:
                    raise SystemExit(f"unknown pipeline {pl!r}")
                acc = float((pred == val.label).float().mean())
                log(
                    eval=ev,
                    fraction=fr,
                    label_seed=ls,
                    pipeline=pl,
                    val_accuracy=round(acc, 4),
                    seconds=round(time.time() - t1, 1),
                    pretrain_seconds=round(pretrain_seconds, 1),
                )
