from __future__ import annotations

import pytest
from torch import nn

from mmcontrast.heads import LinearSpec
from mmcontrast.heads._mlp import build_mlp


def test_build_mlp_layers_in_order() -> None:
    specs = [
        LinearSpec(8, norm_layer=nn.BatchNorm1d, act_layer=nn.Tanh, dropout=0.5),
        LinearSpec(4, act_layer=nn.ReLU),
        LinearSpec(2),
    ]
    mlp = build_mlp("owner", 5, specs)
    kinds = [type(layer) for layer in mlp]
    assert kinds == [nn.Linear, nn.BatchNorm1d, nn.Tanh, nn.Dropout, nn.Linear, nn.ReLU, nn.Linear]
    assert [layer.out_features for layer in mlp if isinstance(layer, nn.Linear)] == [8, 4, 2]


def test_build_mlp_validates_each_layer() -> None:
    with pytest.raises(ValueError, match="^owner: out_features of layer 1 must be >= 1"):
        build_mlp("owner", 5, [LinearSpec(3), LinearSpec(0)])
    with pytest.raises(TypeError, match="^owner: norm_layer of layer 0 must be a module class"):
        build_mlp("owner", 5, [LinearSpec(3, norm_layer="batch")])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="^owner: act_layer of layer 0 must be a module class"):
        build_mlp("owner", 5, [LinearSpec(3, act_layer="relu")])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^owner: dropout of layer 0 must be in \[0, 1\)"):
        build_mlp("owner", 5, [LinearSpec(3, dropout=-0.1)])
    with pytest.raises(ValueError, match="^owner: in_features must be >= 1"):
        build_mlp("owner", 0, [LinearSpec(3)])
