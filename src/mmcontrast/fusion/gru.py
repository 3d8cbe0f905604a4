"""Bidirectional GRU fusion: a one-layer Bi-GRU over modality or time tokens."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import torch
from einops import pack, repeat
from torch import Tensor, nn

from mmcontrast._checks import (
    check_bool,
    check_choice,
    check_int,
    check_modality_dims,
    check_modality_inputs,
    checking,
)
from mmcontrast._ops import masked_mean
from mmcontrast.fusion._projection import build_projections, project_features
from mmcontrast.fusion.functional import pool_tokens

__all__ = [
    "BiGRUWeights",
    "BidirectionalGRUFusion",
    "Readout",
    "Tokens",
    "masked_bigru",
]

Tokens = Literal["modality", "time"]
Readout = Literal["last", "mean"]
TOKENS: tuple[str, ...] = ("modality", "time")
READOUTS: tuple[str, ...] = ("last", "mean")


def _skipping_gru(
    seq: Tensor, valid: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor, b_hh: Tensor
) -> tuple[Tensor, Tensor]:
    # One left-to-right GRU direction over each sample's valid tokens only, on the fused
    # kernel: a stable sort moves the valid tokens to the front (in order), the GRU runs over
    # the whole row, and the states are read back where they belong. The trailing padding is
    # processed but never read, so it receives an exactly zero gradient.
    batch, _, width = seq.shape
    order = torch.argsort((~valid).to(torch.uint8), dim=1, stable=True)
    packed = seq.gather(1, repeat(order, "b n -> b n d", d=width))
    h0 = seq.new_zeros(1, batch, w_hh.shape[1])
    states, _ = torch.gru(packed, h0, [w_ih, w_hh, b_ih, b_hh], True, 1, 0.0, False, False, True)
    # after original position i the state is the one after its rank-th valid token
    rank = valid.cumsum(dim=1)
    index = repeat((rank - 1).clamp_min(0), "b n -> b n h", h=w_hh.shape[1])
    outputs = states.gather(1, index)
    outputs = torch.where((rank > 0).unsqueeze(-1), outputs, outputs.new_zeros(()))
    return outputs, outputs[:, -1]


def masked_bigru(seq: Tensor, valid: Tensor | None, weights: list[Tensor]) -> tuple[Tensor, Tensor]:
    """A one-layer bidirectional GRU that skips the invalid tokens of each sample.

    Skipping a token carries the state over it unchanged, so each sample's result equals the
    plain Bi-GRU run on its valid tokens only (missing modalities leave no trace), values and
    gradients. Both paths run the fused ``torch.gru`` kernel (cuDNN on a GPU): with a mask,
    each direction sorts the valid tokens of every sample to the front (a stable
    ``argsort``, no host synchronisation), runs a one-directional GRU and gathers the states
    back; invalid tokens are zeroed first, so they never reach a gradient.

    Args:
        seq: the token sequence.
        valid: ``"b n"`` bool, or ``None`` for all valid.
        weights: ``[w_ih, w_hh, b_ih, b_hh]`` of the forward then of the reverse direction,
            in ``torch.nn.GRU``'s layout (gates ordered r, z, n).

    Shapes:
        seq: ``"b n d"``; valid: ``"b n"``; outputs: ``"b n (2 h)"`` (at a skipped token each
        direction repeats its state after the last valid token it has read, zeros before the
        first) and the final states ``"b (2 h)"`` (``[forward after the last valid token,
        backward after the first]``; zeros for a row without valid tokens).

    Examples:
        >>> gru = torch.nn.GRU(3, 4, batch_first=True, bidirectional=True)
        >>> weights = [p for p in gru.parameters()]
        >>> seq = torch.randn(2, 5, 3)
        >>> valid = torch.tensor([[True] * 5, [True, False, True, True, False]])
        >>> out, last = masked_bigru(seq, valid, weights)
        >>> _, ref = gru(seq[1:, [0, 2, 3]])
        >>> torch.allclose(last[1], torch.cat([ref[0, 0], ref[1, 0]]), atol=1e-6)
        True
    """
    hidden = weights[1].shape[1]
    if valid is None:
        h0 = seq.new_zeros(2, seq.shape[0], hidden)
        out, h_n = torch.gru(seq, h0, weights, True, 1, 0.0, False, True, True)
        return out, torch.cat([h_n[0], h_n[1]], dim=-1)
    w_ih, w_hh, b_ih, b_hh, rw_ih, rw_hh, rb_ih, rb_hh = weights
    # Invalid tokens are zeroed so that whatever they hold stays out of every gradient.
    seq = torch.where(valid.unsqueeze(-1), seq, seq.new_zeros(()))
    forward_out, forward_last = _skipping_gru(seq, valid, w_ih, w_hh, b_ih, b_hh)
    backward_out, backward_last = _skipping_gru(
        seq.flip(1), valid.flip(1), rw_ih, rw_hh, rb_ih, rb_hh
    )
    return (
        torch.cat([forward_out, backward_out.flip(1)], dim=-1),
        torch.cat([forward_last, backward_last], dim=-1),
    )


class BiGRUWeights(nn.Module):
    """The parameters of a one-layer bidirectional GRU, named and initialised like ``nn.GRU``.

    ``torch.compile`` refuses ``nn.GRU`` modules (dynamo does not trace RNN modules), so the
    weights are held here and run through `masked_bigru`; the ``state_dict`` is
    interchangeable with ``nn.GRU(input_size, hidden_size, bidirectional=True)``.

    Args:
        input_size: token width ``d``.
        hidden_size: state size ``h`` per direction.

    Shapes:
        no forward; `weights` feeds `masked_bigru`.

    Examples:
        >>> holder = BiGRUWeights(3, 4)
        >>> holder.load_state_dict(torch.nn.GRU(3, 4, bidirectional=True).state_dict())
        <All keys matched successfully>
    """

    _NAMES = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        with checking(type(self).__name__):
            self.input_size = check_int("input_size", input_size, minimum=1)
            self.hidden_size = check_int("hidden_size", hidden_size, minimum=1)
        shapes = [
            (3 * hidden_size, input_size),
            (3 * hidden_size, hidden_size),
            (3 * hidden_size,),
            (3 * hidden_size,),
        ]
        for suffix in ("", "_reverse"):
            for name, shape in zip(self._NAMES, shapes, strict=True):
                self.register_parameter(
                    name + suffix, nn.Parameter(torch.empty(shape, device=device, dtype=dtype))
                )
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """``U(-1/sqrt(h), 1/sqrt(h))`` for every tensor, as ``nn.GRU``."""
        bound = self.hidden_size**-0.5
        for parameter in self.parameters():
            nn.init.uniform_(parameter, -bound, bound)

    @property
    def weights(self) -> list[Tensor]:
        """Forward then reverse ``[w_ih, w_hh, b_ih, b_hh]``, the order of ``torch.gru``."""
        return [getattr(self, name + suffix) for suffix in ("", "_reverse") for name in self._NAMES]

    def extra_repr(self) -> str:
        """The hyperparameters, shown by ``repr``."""
        return f"input_size={self.input_size}, hidden_size={self.hidden_size}"


class BidirectionalGRUFusion(nn.Module):
    r"""A one-layer bidirectional GRU over the modalities' tokens.

    **Project design, not from the CLMM paper; inferred from Cosmo and the abstract.** CLMM
    (Jing et al. 2026) names "bidirectional gated units" without a public definition; this is
    the literal reading (Cosmo runs a GRU after its quality-guided attention). The other
    reading, two-way gated multimodal units, is `GatedMultimodalUnitFusion`
    (``docs/fusion.md``).

    Each modality is projected to ``hidden`` by its own Linear, the tokens are fed to a
    one-layer bidirectional GRU and read out as ``[h_forward_last ; h_backward_first]``
    (``readout="last"``) or the mean of the outputs (``"mean"``). ``tokens="modality"``: one
    token per modality (mean over time), in the order of ``dims``; ``tokens="time"``: every
    modality's time steps, packed in the order of ``dims`` (``einops.pack(..., "b * d")``;
    ``"b d"`` is one token).

    Missing modalities (``present``): their features get an exactly zero gradient and leave
    no trace. The GRU skips their tokens (the state is carried over them), so each sample's
    result equals the GRU run on the modalities it has; the ``"mean"`` readout averages the
    valid tokens only. A sample with no modality gives zeros.

    Args:
        dims: ``modality -> d``; fixes the token order.
        hidden: projection width and GRU hidden size per direction.
        tokens: ``"modality"`` or ``"time"``.
        readout: ``"last"`` or ``"mean"``.
        project: project each modality to ``hidden`` first. ``False`` uses the features as
            they are (every modality then needs one common ``d``).
        device: device of the parameters.
        dtype: dtype of the parameters.

    Shapes:
        features[m]: ``"b d_m"`` or ``"b t d_m"``; present[m]: ``"b"``; output:
        ``"b out_features"`` (``out_features = 2 * hidden``).

    Examples:
        >>> import torch
        >>> from mmcontrast.fusion import BidirectionalGRUFusion
        >>> fusion = BidirectionalGRUFusion({"inertial": 6400, "skeleton": 256}, hidden=64)
        >>> out = fusion({"inertial": torch.randn(4, 6400), "skeleton": torch.randn(4, 50, 256)})
        >>> out.shape
        torch.Size([4, 128])
    """

    def __init__(
        self,
        dims: Mapping[str, int],
        *,
        hidden: int = 128,
        tokens: Tokens = "modality",
        readout: Readout = "last",
        project: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        with checking("BidirectionalGRUFusion"):
            self.dims = check_modality_dims("dims", dims)
            self.modalities = tuple(self.dims)
            self.hidden = check_int("hidden", hidden, minimum=1)
            self.tokens: Tokens = tokens
            check_choice("tokens", tokens, TOKENS)
            self.readout: Readout = readout
            check_choice("readout", readout, READOUTS)
            self.project = check_bool("project", project)
        self.projections, widths = build_projections(
            self.dims, hidden, project, device=device, dtype=dtype
        )
        if len(set(widths.values())) != 1:
            raise ValueError(
                "BidirectionalGRUFusion: project=False needs every modality to have the same d, "
                f"got dims={self.dims!r}"
            )
        self.gru = BiGRUWeights(widths[self.modalities[0]], hidden, device=device, dtype=dtype)
        self.out_features = 2 * hidden

    def forward(
        self, features: Mapping[str, Tensor], *, present: Mapping[str, Tensor] | None = None
    ) -> Tensor:
        """Fuse the modalities.

        Args:
            features: ``modality -> tensor``, exactly the modalities of ``dims``, any order.
            present: ``modality -> "b"`` bool; modalities left out are present everywhere.

        Shapes:
            features[m]: ``"b d_m"`` or ``"b t d_m"``; present[m]: ``"b"``; output:
            ``"b out_features"``.
        """
        with checking("BidirectionalGRUFusion"):
            xs, mask = check_modality_inputs(features, present, self.dims)
        hs = project_features(self.projections, self.modalities, xs, mask)
        if self.tokens == "modality":
            seq = torch.stack([pool_tokens(h) for h in hs], dim=1)
            valid = mask
        else:
            seq, _ = pack(hs, "b * d")
            valid = None
            if mask is not None:
                columns = [
                    repeat(mask[:, i], "b -> b t", t=h.shape[1]) if h.ndim == 3 else mask[:, i]
                    for i, h in enumerate(hs)
                ]
                valid, _ = pack(columns, "b *")
        out, last = masked_bigru(seq, valid, self.gru.weights)
        if self.readout == "last":
            return last
        return masked_mean(out, valid, dim=1)

    def extra_repr(self) -> str:
        """The hyperparameters, shown by ``repr``."""
        return (
            f"dims={self.dims!r}, hidden={self.hidden}, tokens={self.tokens!r}, "
            f"readout={self.readout!r}, project={self.project}"
        )
