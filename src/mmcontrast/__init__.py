"""mmcontrast: composable parts for multimodal contrastive learning in activity recognition.

Subpackages: `mmcontrast.losses`, `mmcontrast.encoders`, `mmcontrast.augment`,
`mmcontrast.fusion`, `mmcontrast.heads`, `mmcontrast.data`, `mmcontrast.recipes`
(worked training recipes) and `mmcontrast.evaluation` (feature extraction, linear probe, kNN,
few-label curves).
"""

from mmcontrast import augment, data, encoders, evaluation, fusion, heads, losses, recipes

__version__ = "0.1.0.dev0"

__all__ = [
    "__version__",
    "augment",
    "data",
    "encoders",
    "evaluation",
    "fusion",
    "heads",
    "losses",
    "recipes",
]
