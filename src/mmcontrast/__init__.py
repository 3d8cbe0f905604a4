"""mmcontrast: composable parts for multimodal contrastive learning in activity recognition.

Subpackages: :mod:`~mmcontrast.losses`, :mod:`~mmcontrast.encoders`,
:mod:`~mmcontrast.augment`, :mod:`~mmcontrast.fusion`, :mod:`~mmcontrast.heads`,
:mod:`~mmcontrast.data` and :mod:`~mmcontrast.recipes` (worked training recipes).
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
