"""A learnable temperature, stored as a log inverse temperature and clamped when used."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from mmcontrast._checks import check_finite_number, checking

__all__ = ["LearnableTemperature"]


class LearnableTemperature(nn.Module):
    """A learned temperature ``tau = exp(-log_scale)``, kept within its bounds.

    The parameter is the log of the inverse temperature (CLIP's ``logit_scale``), initialised to
    ``log(1 / init)``. Every loss of this package accepts it as ``temperature=``; add the
    loss's parameters to your optimiser. The clamp is applied when the value is read (the
    gradient is zero while the parameter sits beyond a bound), so a large learning rate can
    never produce a zero or negative temperature.

    Args:
        init: initial temperature (CLIP uses 0.07).
        min_temperature: lower bound (CLIP clamps the logit scale at 100, i.e. 0.01).
        max_temperature: upper bound.
        device: where to allocate the parameter.
        dtype: its dtype (default float32).

    Shapes:
        forward / inverse: output ``""``.

    Examples:
        >>> import torch
        >>> from mmcontrast.losses import HardNegativeLoss, LearnableTemperature
        >>> criterion = HardNegativeLoss(temperature=LearnableTemperature(init=0.1))
        >>> loss = criterion(torch.randn(16, 8), torch.randn(16, 8))
        >>> loss.backward()
        >>> criterion.temperature.log_scale.grad is not None
        True
        >>> round(float(criterion.temperature().detach()), 4)
        0.1
    """

    def __init__(
        self,
        *,
        init: float = 0.07,
        min_temperature: float = 0.01,
        max_temperature: float = 1.0,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        with checking(type(self).__name__):
            low = check_finite_number("min_temperature", min_temperature, low=0.0, low_open=True)
            high = check_finite_number("max_temperature", max_temperature, low=low)
            init = check_finite_number("init", init, low=low, high=high, high_open=False)
        self.min_temperature, self.max_temperature = low, high
        self.log_scale = nn.Parameter(
            torch.tensor(math.log(1.0 / init), device=device, dtype=dtype or torch.float32)
        )

    def inverse(self) -> Tensor:
        """The clamped inverse temperature ``1 / tau`` (what the losses multiply by)."""
        bounded = self.log_scale.clamp(
            min=math.log(1.0 / self.max_temperature), max=math.log(1.0 / self.min_temperature)
        )
        return bounded.exp()

    def forward(self) -> Tensor:
        """The clamped temperature ``tau``."""
        return self.inverse().reciprocal()

    def extra_repr(self) -> str:
        """The current temperature and its bounds."""
        return (
            f"temperature={float(self.forward().detach()):.4g}, "
            f"min_temperature={self.min_temperature}, max_temperature={self.max_temperature}"
        )
