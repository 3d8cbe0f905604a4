# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Augmentation gallery
#
# Every IMU and skeleton transform of `mmcontrast.augment` applied to one recording, before
# (grey, dashed) and after (in colour). The recording is UTD-MHAD's `a9_s1_t1` (subject 1
# drawing a clockwise circle with the right hand, the IMU on the right wrist) when the
# UTD-MHAD folder is there (`MMCONTRAST_UTD_MHAD`, else `../shared/data/utd_mhad` next to the
# repository), and otherwise the recording of the same name from `make_synthetic`, whose wrist
# IMU is simulated from the skeleton's motion. The next cell's output says which; every
# picture's title repeats it.
#
# Both streams are preprocessed as the training pipeline does it: resampled to 50 steps over
# the whole recording, the skeleton recentred on the spine of its first frame and scaled by
# the first frame's shoulder-spine distance, and each IMU channel standardised with the
# dataset's statistics (`PairedDataset.normalize_inertial`).

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import torch
from IPython.display import Markdown, display

from mmcontrast.augment import (
    UTD_MHAD_LAYOUT,
    ChannelDropout,
    ChannelScale,
    ChannelShuffle,
    Compose,
    Jitter,
    JointMask,
    MagnitudeWarp,
    NormalizeBoneLength,
    Paired,
    RandomApply,
    Recenter,
    SegmentPermute,
    SkeletonFlip,
    SkeletonRotate,
    SkeletonScale,
    SkeletonShear,
    TemporalCropResize,
    TimeMask,
    TimeWarp,
    TriadRotate,
)
from mmcontrast.data import (
    load_utd_mhad,
    make_synthetic,
    read_utd_mhad,
    resample,
    synthetic_recordings,
)

torch.set_num_threads(1)
plt.rcParams["figure.dpi"] = 80  # a lighter page
RECORDING = "a9_s1_t1"


def utd_mhad_folder():
    """The UTD-MHAD folder: $MMCONTRAST_UTD_MHAD, else ../shared/data/utd_mhad of the repo."""
    if os.environ.get("MMCONTRAST_UTD_MHAD"):
        return Path(os.environ["MMCONTRAST_UTD_MHAD"])
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "mkdocs.yml").is_file():  # the repository root
            return folder.parent / "shared" / "data" / "utd_mhad"
    return None


folder = utd_mhad_folder()
if folder is not None and (folder / "Inertial").is_dir() and (folder / "Skeleton").is_dir():
    data = load_utd_mhad(folder)  # preprocessed: 50 steps, skeletons recentred and scaled
    raw = read_utd_mhad(folder)  # native rates and camera coordinates (cached by load)
    SOURCE = f"UTD-MHAD {RECORDING} (real)"
    RESAMPLE = "fft"  # load_utd_mhad's default, as the reference code
    display(Markdown(f"Source: **the real UTD-MHAD recording `{RECORDING}`** (Chen et al. 2015)."))
else:
    # The first 9 classes, one subject, one trial: a9_s1_t1 is draw_circle_cw.
    size = {"num_classes": 9, "num_subjects": 1, "num_trials": 1}
    data = make_synthetic(**size)  # synthetic_recordings + the same preprocessing
    raw = synthetic_recordings(**size)  # the same recordings before preprocessing
    SOURCE = f"SYNTHETIC {RECORDING} (make_synthetic)"
    RESAMPLE = "linear"  # make_synthetic's default
    display(
        Markdown(
            f"Source: **synthetic** (`make_synthetic`): the UTD-MHAD folder was not found, so "
            f"`{RECORDING}` is a simulated recording, not the real one."
        )
    )

data = data.normalize_inertial(*data.inertial_statistics())
index = data.names.index(RECORDING)
imu = data.inertial[index : index + 1]  # "b t c" = (1, 50, 6)
skeleton = data.skeleton[index : index + 1]  # "b t j c" = (1, 50, 20, 3)
print(
    f"{RECORDING}: {data.classes[data.label[index]]}; imu {tuple(imu.shape)}, skeleton "
    f"{tuple(skeleton.shape)}; native lengths {len(raw.inertial[raw.names.index(RECORDING)])} "
    f"IMU samples and {len(raw.skeleton[raw.names.index(RECORDING)])} skeleton frames"
)

# %% [markdown]
# Drawing helpers: IMU channels over time (accelerometer and gyroscope panels), a skeleton
# projected on the camera's x-y plane with the bones of `UTD_MHAD_LAYOUT`, and the right
# hand's coordinates over time.

# %%
HAND = UTD_MHAD_LAYOUT.names.index("right_hand")
FRAME = 25  # the frame drawn in the pose panels
XYZ = ("C0", "C1", "C2")


def seed(value=0):
    return torch.Generator().manual_seed(value)


def plot_imu(axes, before, after):
    for ax, first, name in ((axes[0], 0, "accelerometer"), (axes[1], 3, "gyroscope")):
        for k, colour in enumerate(XYZ):
            ax.plot(before[0, :, first + k], color="0.65", lw=1, ls="--")
            ax.plot(after[0, :, first + k], color=colour, lw=1.3, label="xyz"[k])
        ax.set_title(name, fontsize=8, loc="right")
        ax.tick_params(labelsize=7)


def plot_hand(ax, before, after):
    for k, colour in enumerate(XYZ):
        ax.plot(before[0, :, HAND, k], color="0.65", lw=1, ls="--")
        ax.plot(after[0, :, HAND, k], color=colour, lw=1.3, label="xyz"[k])
    ax.set_title("skeleton: right hand", fontsize=8, loc="right")
    ax.tick_params(labelsize=7)


def plot_pose(ax, joints, colour, width=1.5, label=None):
    """One frame "j c" as a front view (x right, y up) with its bones."""
    for a, b in UTD_MHAD_LAYOUT.bones:
        ax.plot(joints[[a, b], 0], joints[[a, b], 1], color=colour, lw=width)
    ax.scatter(joints[:, 0], joints[:, 1], color=colour, s=8, label=label, zorder=3)
    ax.set_aspect("equal", adjustable="datalim")
    ax.tick_params(labelsize=7)


fig = plt.figure(figsize=(12, 3.4))
grid = fig.add_gridspec(1, 4)
plot_imu([fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1])], imu, imu)
plot_hand(fig.add_subplot(grid[0, 2]), skeleton, skeleton)
ax = fig.add_subplot(grid[0, 3])
for frame, shade in ((0, "0.75"), (FRAME, "C3"), (49, "0.4")):
    plot_pose(ax, skeleton[0, frame], shade, label=f"frame {frame}")
ax.plot(skeleton[0, :, HAND, 0], skeleton[0, :, HAND, 1], color="C3", lw=0.8, alpha=0.5)
ax.set_title("front view, right-hand path", fontsize=9)
ax.legend(fontsize=7)
fig.suptitle(f"The recording: {SOURCE}", fontsize=10)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## IMU transforms
#
# These take `"b t c"` batches. Strengths are raised above the defaults where the default
# would be hard to see. Every row draws from a `torch.Generator` seeded with 0.

# %%
imu_transforms = [
    Jitter(sigma=0.1),
    ChannelScale(sigma=0.3),
    MagnitudeWarp(sigma=0.3, num_knots=4),
    ChannelShuffle(),
    TriadRotate(max_degrees=90.0),
    ChannelDropout(rate=0.3),
]
fig, axes = plt.subplots(len(imu_transforms), 2, figsize=(11, 2.1 * len(imu_transforms)))
for row, transform in zip(axes, imu_transforms, strict=True):
    plot_imu(row, imu, transform(imu, generator=seed(0)))
    row[0].set_title(repr(transform), fontsize=9, loc="left", fontweight="bold")
axes[0, 1].legend(fontsize=7, loc="upper right")
fig.suptitle(f"IMU transforms on {SOURCE} (grey dashed: input)", fontsize=10)
plt.tight_layout()
plt.show()

# %% [markdown]
# `ChannelShuffle` may move a gyroscope channel into the accelerometer panel and back;
# `TriadRotate` turns both sensors by the same rotation (as if the device were worn turned);
# `ChannelDropout` zeroes whole channels (a row with nothing dropped is a possible draw).
#
# ## Time-axis transforms (IMU and skeleton)
#
# These act on any `"b t ..."` tensor. Each is wrapped in `Paired`, so one draw is applied to
# the IMU window and to the skeleton window (right: the right hand's coordinates).

# %%
temporal_transforms = [
    TemporalCropResize(scale=(0.6, 0.7)),
    TimeWarp(sigma=0.5, num_knots=4),
    TimeMask(max_extent=0.3, num_masks=2),
    SegmentPermute(min_segments=3, max_segments=3),
]
batch = {"inertial": imu, "skeleton": skeleton}
fig, axes = plt.subplots(len(temporal_transforms), 3, figsize=(12, 2.3 * len(temporal_transforms)))
for row, transform in zip(axes, temporal_transforms, strict=True):
    out = Paired(transform)(batch, generator=seed(1))
    plot_imu(row[:2], imu, out["inertial"])
    plot_hand(row[2], skeleton, out["skeleton"])
    row[0].set_title(repr(transform), fontsize=9, loc="left", fontweight="bold")
for ax in axes[-1]:
    ax.set_xlabel("step", fontsize=8)
axes[0, 2].legend(fontsize=7, loc="upper right")
fig.suptitle(f"Time-axis transforms through Paired on {SOURCE}", fontsize=10)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Skeleton transforms
#
# These take `"b t j c"` batches. Frame 25 in front view (x right, y up, in units of the
# shoulder-spine distance), input in grey. `SkeletonRotate` turns about all three axes, so
# part of its effect is depth, which the front view shows as foreshortening. `JointMask` with
# a layout masks whole limbs (their joints go to 0, the spine's position in the first frame).
# `SkeletonFlip` mirrors x and swaps the left and right joints: the drawing arm appears on the
# other side and is now called the left arm, and the faint path (always the joint called the
# right hand) follows the mirrored left hand.

# %%
skeleton_transforms = [
    Jitter(sigma=0.05),
    SkeletonScale(scale=(0.7, 1.2)),
    SkeletonRotate(max_degrees=30.0),
    SkeletonShear(sigma=0.2),
    JointMask(rate=0.4, layout=UTD_MHAD_LAYOUT),
    SkeletonFlip(layout=UTD_MHAD_LAYOUT),
]
fig, axes = plt.subplots(2, 3, figsize=(12, 8))
for ax, transform in zip(axes.flat, skeleton_transforms, strict=True):
    after = transform(skeleton, generator=seed(2))
    plot_pose(ax, skeleton[0, FRAME], "0.65", width=1.0)
    plot_pose(ax, after[0, FRAME], "C3")
    ax.plot(after[0, :, HAND, 0], after[0, :, HAND, 1], color="C3", lw=0.8, alpha=0.4)
    ax.set_title(repr(transform), fontsize=9)
fig.suptitle(f"Skeleton transforms on {SOURCE}, frame {FRAME}", fontsize=10)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Normalisation: Recenter and NormalizeBoneLength
#
# The deterministic steps of the skeleton preprocessing, applied to the recording in camera
# coordinates (metres, native frame rate): `Recenter(joint=2)` subtracts the spine of the
# **first** frame from every frame (movement over time is kept) and
# `NormalizeBoneLength(joints=(1, 2))` divides by the first frame's shoulder-spine distance.
# Composed and resampled to 50 steps, they give the skeleton the training pipeline feeds: the
# output below compares them with the preprocessed recording, which `mmcontrast.data`
# computes with its own code (`recenter_skeleton`).

# %%
camera = torch.as_tensor(raw.skeleton[raw.names.index(RECORDING)]).unsqueeze(0)  # metres
normalise = Compose([Recenter(joint=2), NormalizeBoneLength(joints=(1, 2))])
normalised = normalise(camera)
resampled = torch.as_tensor(resample(normalised[0].numpy(), 50, method=RESAMPLE))
difference = (resampled - data.skeleton[index].double()).abs().max().item()
print(f"largest difference from the preprocessed recording: {difference:.1e}")

fig, axes = plt.subplots(1, 3, figsize=(12, 4))
steps = (
    ("camera coordinates (m)", camera),
    ("Recenter(joint=2)", Recenter(joint=2)(camera)),
    ("+ NormalizeBoneLength(joints=(1, 2))", normalised),
)
for ax, (title, pose) in zip(axes, steps, strict=True):
    plot_pose(ax, pose[0, 0], "C3", label="frame 0")
    plot_pose(ax, pose[0, -1], "0.55", width=1.0, label="last frame")
    ax.scatter([0], [0], marker="+", color="k", s=80, label="origin")
    ax.set_title(title, fontsize=9)
axes[0].legend(fontsize=7)
fig.suptitle(f"Normalisation of {SOURCE}, front view", fontsize=10)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Paired: one temporal crop for both modalities
#
# The two streams have different lengths (here the IMU at 50 steps and the skeleton
# resampled to 30 frames, as a slower camera would give). `TemporalCropResize` draws its crop
# in normalised time (frame `i` of `T` sits at `u = i / (T - 1)`), so one draw selects the
# same part of the recording in both. A batch of three copies of the recording gets three
# different crops, each shared by the IMU and the skeleton; each modality then gets its own
# `Jitter` draw.

# %%
skeleton_30 = torch.as_tensor(resample(skeleton[0].numpy(), 30, method="linear")).unsqueeze(0)
paired = Paired(
    TemporalCropResize(scale=(0.5, 0.6)),
    own={"inertial": Jitter(sigma=0.05), "skeleton": Jitter(sigma=0.02)},
)
three = {"inertial": imu.expand(3, -1, -1), "skeleton": skeleton_30.expand(3, -1, -1, -1)}
params = paired.sample(three, generator=seed(4))
views = paired.apply_params(three, params)
print(f"shared crops (start, extent) in normalised time: {params.shared}")
print({name: tuple(view.shape) for name, view in views.items()})

u_imu, u_skeleton = torch.linspace(0, 1, 50), torch.linspace(0, 1, 30)
fig, axes = plt.subplots(2, 4, figsize=(13, 4.8), sharex=True)
axes[0, 0].plot(u_imu, imu[0, :, 0], color="0.3")
axes[1, 0].plot(u_skeleton, skeleton_30[0, :, HAND, 1], color="0.3")
axes[0, 0].set_title("input", fontsize=9)
for k in range(3):
    start, extent = params.shared.start[k].item(), params.shared.extent[k].item()
    for ax in axes[:, 0]:
        ax.axvspan(start, start + extent, color=f"C{k}", alpha=0.15)
    axes[0, k + 1].plot(u_imu, views["inertial"][k, :, 0], color=f"C{k}")
    axes[1, k + 1].plot(u_skeleton, views["skeleton"][k, :, HAND, 1], color=f"C{k}")
    axes[0, k + 1].set_title(f"view {k}: u in [{start:.2f}, {start + extent:.2f}]", fontsize=9)
axes[0, 0].set_ylabel("IMU acc x (50 steps)", fontsize=8)
axes[1, 0].set_ylabel("right hand y (30 frames)", fontsize=8)
for ax in axes[1]:
    ax.set_xlabel("normalised time u", fontsize=8)
fig.suptitle(f"Paired(TemporalCropResize(scale=(0.5, 0.6)), own=Jitter) on {SOURCE}", fontsize=10)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Replaying Params from a seeded generator
#
# `sample` draws every random number of a batch into a `Params` tuple; `apply_params` is
# deterministic. So a seeded generator reproduces a draw exactly, a stored `Params` replays it,
# and `params._replace(...)` edits it. Below, a `Compose` of three `RandomApply` steps; the
# booleans are computed, not typed.

# %%
pipeline = Compose(
    [
        RandomApply(Jitter(sigma=0.2), p=0.8),
        RandomApply(TriadRotate(max_degrees=60.0), p=0.8),
        RandomApply(TimeWarp(sigma=0.4), p=0.8),
    ]
)


def same_params(a, b):
    """Params are NamedTuples of tensors (nested for containers)."""
    if isinstance(a, torch.Tensor):
        return torch.equal(a, b)
    if isinstance(a, tuple):
        return len(a) == len(b) and all(same_params(x, y) for x, y in zip(a, b, strict=True))
    return a == b


first = pipeline.sample(imu, generator=seed(7))
second = pipeline.sample(imu, generator=seed(7))
other = pipeline.sample(imu, generator=seed(8))
same_draw = same_params(first, second)
replayed = torch.equal(pipeline.apply_params(imu, first), pipeline(imu, generator=seed(7)))
differs = not torch.equal(pipeline.apply_params(imu, first), pipeline.apply_params(imu, other))
print(f"seed 7 twice gives the same Params: {same_draw}")
print(f"apply_params(x, params) equals forward with the same seed: {replayed}")
print(f"seed 8 gives another view: {differs}")
print("which steps the seed-7 draw applies:", [bool(step.applied) for step in first.steps])

# Edit the draw: switch the jitter off, keep the other steps as drawn.
no_jitter = first._replace(
    steps=(first.steps[0]._replace(applied=torch.tensor([False])), *first.steps[1:])
)

fig, axes = plt.subplots(1, 4, figsize=(13, 2.8), sharey=True)
views = [
    ("seed 7", first),
    ("seed 7 again", second),
    ("seed 7 without the jitter", no_jitter),
    ("seed 8", other),
]
for ax, (title, p) in zip(axes, views, strict=True):
    ax.plot(imu[0, :, 0], color="0.65", ls="--", lw=1)
    ax.plot(pipeline.apply_params(imu, p)[0, :, 0], color="C3", lw=1.3)
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("step", fontsize=8)
axes[0].set_ylabel("acc x", fontsize=8)
fig.suptitle(f"One Compose draw, replayed and edited, on {SOURCE}", fontsize=10)
plt.tight_layout()
plt.show()
