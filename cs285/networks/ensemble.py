"""An ensemble of MLPs evaluated together: each member sees its own inputs.

Member m's layer k is y = x W_m^k + b_m^k with W^k stacked as (members, fan_in, fan_out), so one
``torch.baddbmm`` per layer runs every member on its own (members, batch, fan_in) input: no Python
loop over members. Used by the model-based agent (hw4), whose members are trained on different
minibatches and roll out different trajectories.

Inference (the planner's rollouts, no gradients) runs the same function through ``inference_layers``
and ``forward_inference``, which fold constants into the weights:
- the output's affine map y = f(x) * scale + shift goes into the last layer: W scale, b scale + shift;
- a tanh hidden layer is computed as g = σ(2u), since tanh(u) = 2σ(2u) − 1: its W and b are doubled, and
  the next layer takes 2g − 1 into its weights, (2g − 1) W + b = g (2W) + (b − 1ᵀW). On CPU torch's
  sigmoid is several times cheaper than its tanh (1.5M floats: 0.5 ms against 3.4 ms, two threads), and
  the hidden layers' activation is most of what a rollout step spends outside its matrix products.
The results equal ``forward``'s up to float32 rounding (tests/test_model_based_agent.py).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from cs285.infrastructure import pytorch_util as ptu


class EnsembleMLP(nn.Module):
    """``members`` MLPs of ``n_layers`` hidden layers of width ``size``, the ``activation`` between them and a
    linear output (``ptu.build_mlp``'s layout): (members, batch, input_size) -> (members, batch, output_size)."""

    def __init__(self, members: int, input_size: int, output_size: int, n_layers: int, size: int,
                 activation: str = "tanh"):
        super().__init__()
        if members < 1:
            raise ValueError(f"an ensemble needs at least one member, got {members}")
        if activation not in ptu.ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; choose one of {sorted(ptu.ACTIVATIONS)}")
        self.activation = ptu.ACTIVATIONS[activation]()
        sizes = [input_size, *[size] * n_layers, output_size]
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            bound = 1.0 / math.sqrt(fan_in)  # nn.Linear's default init, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), per member
            self.weights.append(nn.Parameter(torch.empty(members, fan_in, fan_out).uniform_(-bound, bound)))
            self.biases.append(nn.Parameter(torch.empty(members, 1, fan_out).uniform_(-bound, bound)))
        self.members = members

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (members, batch, input_size) -> (members, batch, output_size)."""
        last = len(self.weights) - 1
        for k, (w, b) in enumerate(zip(self.weights, self.biases)):
            x = torch.baddbmm(b, x, w)  # b + x @ w, member by member
            if k < last:
                x = self.activation(x)
        return x

    @torch.no_grad()
    def inference_layers(self, out_scale: torch.Tensor,
                         out_shift: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The (W, b) of each layer for ``forward_inference`` of x -> forward(x) * out_scale + out_shift
        (module docstring); out_scale, out_shift: (output_size,). Build them again after the weights change."""
        sigmoid_form = isinstance(self.activation, nn.Tanh)
        last = len(self.weights) - 1
        layers = []
        for k, (w, b) in enumerate(zip(self.weights, self.biases)):
            if k > 0 and sigmoid_form:  # this layer's input is 2g - 1
                w, b = 2 * w, b - w.sum(dim=1, keepdim=True)
            if k < last:
                if sigmoid_form:
                    w, b = 2 * w, 2 * b
            else:
                w, b = w * out_scale, b * out_scale + out_shift
            layers.append((w.detach().contiguous(), b.detach().contiguous()))
        return layers

    def forward_inference(self, layers: list[tuple[torch.Tensor, torch.Tensor]], x: torch.Tensor) -> torch.Tensor:
        """forward(x) * out_scale + out_shift for x (members, batch, input_size), with ``layers`` from
        ``inference_layers``."""
        sigmoid_form = isinstance(self.activation, nn.Tanh)
        last = len(layers) - 1
        for k, (w, b) in enumerate(layers):
            x = torch.baddbmm(b, x, w)
            if k < last:
                x = x.sigmoid_() if sigmoid_form else self.activation(x)
        return x
