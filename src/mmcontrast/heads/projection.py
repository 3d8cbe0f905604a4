"""The SimCLR / CMC projection head."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from mmcontrast._checks import (
    check_bool,
    check_int,
    check_tensor,
    checking,
)
from mmcontrast._ops import l2_normalize
from mmcontrast.heads._mlp import build_mlp, check_hidden_layers, check_widths, layer_name
from mmcontrast.heads.linear_spec import LinearSpec

__all__ = ["ProjectionHead"]


class ProjectionHead(nn.Module):
    """An MLP from encoder features to the contrastive embedding space.

    The default is CMC-CMKM's ``ProjectionMLP`` (also the hard-negative paper's, whose code
    forks CMC-CMKM): ``Linear(in, 256) -> BatchNorm1d -> ReLU -> Linear(256, 128)``, i.e.
    1,475,456 parameters on the 5632-d inertial features and 99,200 on the 256-d skeleton
    features. Every hidden layer is ``Linear -> norm -> activation (-> dropout)``; the last
    layer is a plain ``Linear``. ``hidden_features=()`` gives a single linear map. CSSHAR's
    head is ``hidden_features=(256,), out_features=256, norm_layer=None``.

    The contrastive losses of `mmcontrast.losses` L2-normalise their inputs themselves;
    ``normalize=True`` makes the head return unit vectors for other uses (retrieval, a
    prototype bank, Cosmo's fused views).

    Args:
        in_features: encoder feature size ``d``.
        hidden_features: widths of the hidden layers (the depth is ``len + 1``).
        out_features: embedding size.
        norm_layer: norm after every hidden ``Linear``, called as
            ``norm_layer(width, device=..., dtype=...)`` (``nn.BatchNorm1d``, ``nn.LayerNorm``),
            or ``None``.
        act_layer: activation after every hidden norm, called with no arguments
            (``nn.ReLU``, ``nn.GELU``, ``nn.Tanh``), or ``None``.
        dropout: dropout after every hidden activation, in ``[0, 1)``.
        normalize: L2-normalise the output (eps from the dtype, so a zero row stays finite).

    Shapes:
        x: ``"b d"``; output: ``"b out_features"``.

    Examples:
        >>> import torch
        >>> from mmcontrast.heads import ProjectionHead
        >>> head = ProjectionHead(5632)
        >>> sum(p.numel() for p in head.parameters())
        1475456
        >>> head(torch.randn(8, 5632)).shape
        torch.Size([8, 128])
        >>> unit = ProjectionHead(256, hidden_features=(), out_features=64, normalize=True)
        >>> torch.allclose(unit(torch.randn(4, 256)).norm(dim=1), torch.ones(4))
        True
    """

    def __init__(
        self,
        in_features: int,
        *,
        hidden_features: Sequence[int] = (256,),
        out_features: int = 128,
        norm_layer: Callable[..., nn.Module] | None = nn.BatchNorm1d,
        act_layer: Callable[[], nn.Module] | None = nn.ReLU,
        dropout: float = 0.0,
        normalize: bool = False,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        with checking("ProjectionHead"):
            self.in_features = check_int("in_features", in_features, minimum=1)
            self.hidden_features = check_widths("hidden_features", hidden_features)
            self.out_features = check_int("out_features", out_features, minimum=1)
            self.norm_layer = norm_layer
            self.act_layer = act_layer
            self.dropout = check_hidden_layers(
                norm_layer=norm_layer, act_layer=act_layer, dropout=dropout
            )
            self.normalize = check_bool("normalize", normalize)
        specs = [
            LinearSpec(width, norm_layer=norm_layer, act_layer=act_layer, dropout=dropout)
            for width in self.hidden_features
        ]
        specs.append(LinearSpec(self.out_features))
        self.layers = build_mlp(self.in_features, specs, device=device, dtype=dtype)

    def forward(self, x: Tensor) -> Tensor:
        """Project (and optionally L2-normalise) a batch of features.

        Shapes:
            x: ``"b d"``; output: ``"b out_features"``.
        """
        with checking(type(self).__name__):
            check_tensor("x", x, pattern="b d", sizes={"d": self.in_features})
        z: Tensor = self.layers(x)
        if self.normalize:
            z = l2_normalize(z)
        return z

    def extra_repr(self) -> str:
        """The hyperparameters, shown by ``repr``."""
        return (
            f"in_features={self.in_features}, hidden_features={self.hidden_features}, "
            f"out_features={self.out_features}, norm_layer={layer_name(self.norm_layer)}, "
            f"act_layer={layer_name(self.act_layer)}, dropout={self.dropout}, "
            f"normalize={self.normalize}"
        )
