"""Real and synthetic IMU and skeleton data, preprocessing, windows and evaluation protocols.

* Loaders: `load_utd_mhad` / `read_utd_mhad` (UTD-MHAD ``.mat`` files, cached),
  `load_mmact` / `read_mmact` (MMAct's assumed layout, `MMActLayout`).
* Synthetic data: `make_synthetic` / `synthetic_recordings`, a paired generator
  whose wrist IMU is derived physically from the skeleton (`simulate_imu`).
* Containers: `Recordings` (native lengths), `MultimodalDataset` (preprocessed, any
  non-empty set of modalities, a ``torch.utils.data.Dataset``) and its inertial + skeleton
  case `PairedDataset`.
* Continuous recordings: `sliding_windows` (majority label, purity rule) -> `Windows`.
* Standardisation fitted on the training side: `Standardizer`.
* Protocols: `cross_subject_split`, `subject_split`, `mmact_split`,
  `label_fraction_subset`.

Real data files live outside the repository; nothing here embeds or downloads them.
"""

from mmcontrast.data.dataset import MultimodalDataset, SplitDatasets
from mmcontrast.data.imu import STANDARD_GRAVITY, Motion, simulate_imu
from mmcontrast.data.mmact import (
    MMACT_ACTIVITIES,
    MMACT_PROTOCOLS,
    MMActLayout,
    MMActProtocol,
    load_mmact,
    mmact_split,
    read_mmact,
)
from mmcontrast.data.paired import PairedDataset
from mmcontrast.data.preprocessing import RESAMPLE_METHODS, Resample, recenter_skeleton, resample
from mmcontrast.data.recordings import Recordings
from mmcontrast.data.splits import (
    LABEL_FRACTIONS,
    PROTOCOLS,
    Protocol,
    Split,
    cross_subject_split,
    label_fraction_subset,
    subject_split,
)
from mmcontrast.data.standardize import Standardizer
from mmcontrast.data.synthetic import SYNTHETIC_CLASSES, make_synthetic, synthetic_recordings
from mmcontrast.data.utd_mhad import (
    UTD_MHAD_CLASSES,
    UTD_MHAD_JOINTS,
    UTD_MHAD_MISSING,
    load_utd_mhad,
    parse_utd_mhad_name,
    read_utd_mhad,
)
from mmcontrast.data.windows import Windows, sliding_windows

__all__ = [
    "LABEL_FRACTIONS",
    "MMACT_ACTIVITIES",
    "MMACT_PROTOCOLS",
    "PROTOCOLS",
    "RESAMPLE_METHODS",
    "STANDARD_GRAVITY",
    "SYNTHETIC_CLASSES",
    "UTD_MHAD_CLASSES",
    "UTD_MHAD_JOINTS",
    "UTD_MHAD_MISSING",
    "MMActLayout",
    "MMActProtocol",
    "Motion",
    "MultimodalDataset",
    "PairedDataset",
    "Protocol",
    "Recordings",
    "Resample",
    "Split",
    "SplitDatasets",
    "Standardizer",
    "Windows",
    "cross_subject_split",
    "label_fraction_subset",
    "load_mmact",
    "load_utd_mhad",
    "make_synthetic",
    "mmact_split",
    "parse_utd_mhad_name",
    "read_mmact",
    "read_utd_mhad",
    "recenter_skeleton",
    "resample",
    "simulate_imu",
    "sliding_windows",
    "subject_split",
    "synthetic_recordings",
]
