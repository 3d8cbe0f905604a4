"""mmcontrast: composable parts for multimodal contrastive learning in activity recognition.

Subpackages: `mmcontrast.losses`, `mmcontrast.encoders`, `mmcontrast.augment`,
`mmcontrast.fusion`, `mmcontrast.heads`, `mmcontrast.data` and `mmcontrast.recipes`
(worked training recipes).
"""

from mmcontrast import augment, data, encoders, fusion, heads, losses, recipes

__version__ = "0.1.0.dev0"

__all__ = [
    "__version__",
    "augment",
    "data",
    "encoders",
    "fusion",
    "heads",
    "losses",
    "recipes",
]
