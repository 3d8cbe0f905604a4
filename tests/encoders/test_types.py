"""The option types of the encoders' signatures are public and match what ``__init__`` accepts."""

from __future__ import annotations

from typing import Any, get_args, get_type_hints

import pytest

import mmcontrast.encoders as encoders
from mmcontrast.encoders import types

SIGNATURES: list[tuple[type[Any], str, object]] = [
    (encoders.CNNTransformerEncoder, "pooling", types.Pooling),
    (encoders.CNNDiffTransformerEncoder, "pooling", types.Pooling),
    (encoders.CNNDiffTransformerEncoder, "positions", types.Positions),
    (encoders.HCNEncoder, "padding", types.HCNPadding),
    (encoders.HCNEncoder, "fusion", types.HCNFusion),
    (encoders.HCNEncoder, "pooling", types.HCNPooling),
]


def test_types_are_exported_from_the_package() -> None:
    for name in types.__all__:
        assert getattr(encoders, name) is getattr(types, name)
        assert name in encoders.__all__


@pytest.mark.parametrize(
    ("encoder", "argument", "alias"),
    SIGNATURES,
    ids=[f"{cls.__name__}.{arg}" for cls, arg, _ in SIGNATURES],
)
def test_signatures_use_the_public_types(encoder: type[Any], argument: str, alias: object) -> None:
    assert get_type_hints(encoder.__init__)[argument] == alias
    choices = ", ".join(repr(choice) for choice in get_args(alias))
    with pytest.raises(
        ValueError, match=f"^{encoder.__name__}: {argument} must be one of {choices}"
    ):
        encoder(**{argument: "bogus"})
