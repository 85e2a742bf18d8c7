"""Spectral normalisation of a convolution by its operator norm (Miyato et al., 2018, done exactly).

A convolution is a linear map A: x ↦ conv2d(x, W) on inputs of one shape (C, H, W). Its
operator norm σ(A) = max ‖Ax‖₂ / ‖x‖₂ is what bounds the layer's Lipschitz constant. PyTorch's
``spectral_norm`` divides by the largest singular value of the flattened kernel, a
(C_out, C_in·k·k) matrix, which does not bound σ(A): overlapping windows reuse each input pixel
up to (k/s)² times (a 3 × 3 all-ones kernel has kernel norm 3, but σ(A) → 9 on large inputs).

Here σ(A) is estimated by power iteration on A and its adjoint Aᵀ (conv_transpose2d with the
same weight, stride and padding), with a persistent input-shaped vector v:

    u ← A v / ‖A v‖        (output-shaped)
    v ← Aᵀ u / ‖Aᵀ u‖      (input-shaped)
    σ ≈ ⟨u, A v⟩,   W_SN = W / σ

One iteration per training forward (50 at construction), as ``torch.nn.utils.parametrizations.
spectral_norm`` does for matrices; in eval mode the vectors stay put. The estimate approaches σ(A)
from below, so W_SN's norm is ≥ 1 by the estimate's (small) error until the iteration settles.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

INITIAL_ITERATIONS = 50  # a convolution's top singular values lie close: more than a matrix's 15


class ConvOperatorSpectralNorm(nn.Module):
    """The parametrization W ↦ W / σ(A_W) for a Conv2d applied to inputs of ``input_shape``."""

    def __init__(self, conv: nn.Conv2d, input_shape: tuple[int, int, int], n_power_iterations: int = 1,
                 eps: float = 1e-12) -> None:  # fmt: skip
        super().__init__()
        if conv.groups != 1 or conv.padding_mode != "zeros" or isinstance(conv.padding, str):
            raise ValueError("operator spectral norm supports plain zero-padded convolutions only")
        self.stride, self.padding, self.dilation = conv.stride, conv.padding, conv.dilation
        self.input_shape = tuple(input_shape)
        self.n_power_iterations = n_power_iterations
        self.eps = eps
        weight = conv.weight.detach()
        v = weight.new_empty(1, *self.input_shape).normal_()  # (1, C_in, H, W)
        self.register_buffer("_v", F.normalize(v.flatten(), dim=0, eps=eps).view_as(v))
        self.register_buffer("_u", torch.zeros_like(self._apply_conv(weight, self._v)))  # (1, C_out, H', W')
        if not weight.is_meta:  # a meta-device model (checking a checkpoint) has no values to iterate
            self._power_method(weight, INITIAL_ITERATIONS)

    def _apply_conv(self, weight: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """A x: (1, C_in, H, W) → (1, C_out, H', W')."""
        return F.conv2d(x, weight, stride=self.stride, padding=self.padding, dilation=self.dilation)

    def _apply_adjoint(self, weight: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Aᵀ y: (1, C_out, H', W') → (1, C_in, H, W); output_padding restores the exact input size."""
        _, h, w = self.input_shape
        extra = []
        for size, out, s, p, d, k in zip((h, w), y.shape[2:], self.stride, self.padding, self.dilation,
                                         weight.shape[2:], strict=True):  # fmt: skip
            extra.append(size - ((out - 1) * s - 2 * p + d * (k - 1) + 1))
        return F.conv_transpose2d(y, weight, stride=self.stride, padding=self.padding,
                                  output_padding=tuple(extra), dilation=self.dilation)  # fmt: skip

    @torch.no_grad()
    def _power_method(self, weight: torch.Tensor, iterations: int) -> None:
        for _ in range(iterations):  # in place, like PyTorch's: the buffers stay the module's own
            u = self._apply_conv(weight, self._v)
            self._u.copy_(F.normalize(u.flatten(), dim=0, eps=self.eps).view_as(u))  # u ← Av / ‖Av‖
            v = self._apply_adjoint(weight, self._u)
            self._v.copy_(F.normalize(v.flatten(), dim=0, eps=self.eps).view_as(v))  # v ← Aᵀu / ‖Aᵀu‖

    def sigma(self, weight: torch.Tensor) -> torch.Tensor:
        """σ ≈ ⟨u, A v⟩, differentiable in the weight (u, v held fixed)."""
        u = self._u.clone(memory_format=torch.contiguous_format)  # clones: a later forward updates
        v = self._v.clone(memory_format=torch.contiguous_format)  # the buffers in place
        return torch.vdot(u.flatten(), self._apply_conv(weight, v).flatten())

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        if self.training:
            self._power_method(weight.detach(), self.n_power_iterations)
        return weight / self.sigma(weight)  # W_SN = W / σ(A_W)


def conv_operator_spectral_norm(conv: nn.Conv2d, input_shape: tuple[int, int, int]) -> nn.Conv2d:
    """``conv`` with its weight normalised by the operator norm on ``input_shape`` inputs.

    State-dict names follow PyTorch's parametrizations: ``parametrizations.weight.original`` and
    ``parametrizations.weight.0._u`` / ``._v`` (here the output- and input-shaped vectors).
    """
    parametrize.register_parametrization(conv, "weight", ConvOperatorSpectralNorm(conv, input_shape))
    return conv
