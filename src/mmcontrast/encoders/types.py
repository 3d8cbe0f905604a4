"""The option types of the encoders' signatures, for code that passes an option on.

Each is a ``Literal`` of the accepted strings, so a type checker flags a misspelt option in a
wrapper before the encoder's ``__init__`` does; ``typing.get_args`` lists the choices.

Examples:
    >>> from typing import get_args
    >>> from mmcontrast.encoders import CNNTransformerEncoder, Pooling
    >>> def inertial_encoder(pooling: Pooling = "mean") -> CNNTransformerEncoder:
    ...     return CNNTransformerEncoder(in_channels=6, pooling=pooling)
    >>> inertial_encoder("cls").pooling
    'cls'
    >>> get_args(Pooling)
    ('mean', 'cls', 'flatten')
"""

from __future__ import annotations

from typing import Literal

__all__ = ["HCNFusion", "HCNPadding", "HCNPooling", "Pooling", "Positions"]

Pooling = Literal["mean", "cls", "flatten"]
"""How the sequence encoders reduce their tokens to one vector per sample.

Taken by `mmcontrast.encoders.CNNTransformerEncoder` and
`mmcontrast.encoders.CNNDiffTransformerEncoder`. ``"mean"``: masked mean over the valid
steps; ``"cls"``: a learned token prepended after the positions; ``"flatten"``: every step
kept, channel-major (fixed length, no mask).
"""

Positions = Literal["sinusoidal", "rope"]
"""The position encoding of `mmcontrast.encoders.CNNDiffTransformerEncoder`.

``"sinusoidal"``: the sine/cosine table added after the stem; ``"rope"``: rotary, on the
query and key sub-heads of every layer.
"""

HCNPadding = Literal["same", "valid"]
"""The convolution padding of `mmcontrast.encoders.HCNEncoder`: ``"same"`` or ``"valid"``."""

HCNFusion = Literal["channels", "height"]
"""Where `mmcontrast.encoders.HCNEncoder` joins its streams: ``"channels"`` or ``"height"``."""

HCNPooling = Literal["mean", "max", "flatten"]
"""How `mmcontrast.encoders.HCNEncoder` reduces its final map (mean, max or flatten)."""
