from __future__ import annotations

from torch import nn

from mmcontrast.heads import LinearSpec
from mmcontrast.heads._mlp import build_mlp


def test_build_mlp_layers_in_order() -> None:
    specs = [
        LinearSpec(8, norm_layer=nn.BatchNorm1d, act_layer=nn.Tanh, dropout=0.5),
        LinearSpec(4, act_layer=nn.ReLU),
        LinearSpec(2),
    ]
    mlp = build_mlp(5, specs)
    kinds = [type(layer) for layer in mlp]
    assert kinds == [nn.Linear, nn.BatchNorm1d, nn.Tanh, nn.Dropout, nn.Linear, nn.ReLU, nn.Linear]
    assert [layer.out_features for layer in mlp if isinstance(layer, nn.Linear)] == [8, 4, 2]
