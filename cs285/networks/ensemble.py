"""An ensemble of MLPs evaluated together: each member sees its own inputs.

Member m's layer k is y = x W_m^k + b_m^k with W^k stacked as (members, fan_in, fan_out), so one
``torch.baddbmm`` per layer runs every member on its own (members, batch, fan_in) input: no Python
loop over members. Used by the model-based agent (hw4), whose members are trained on different
minibatches and roll out different trajectories.
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
