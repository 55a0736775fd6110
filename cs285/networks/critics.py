"""Value networks: observations -> state values V(s); (observation, action) -> Q(s, a).

Like the policies, critics own no loss and no optimizer: agents do.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from cs285.infrastructure import pytorch_util as ptu


class ValueCritic(nn.Module):
    """V_φ(s): an MLP with ``n_layers`` hidden layers of width ``layer_size`` and one output."""

    def __init__(self, ob_dim: int, n_layers: int, layer_size: int):
        super().__init__()
        self.ob_dim = ob_dim
        self.network = ptu.build_mlp(ob_dim, 1, n_layers, layer_size)
        self.to(ptu.device)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """obs (batch, ob_dim) -> values (batch,)."""
        return self.network(obs).squeeze(-1)


HIDDEN_ACTIVATIONS = {"relu": torch.relu, "tanh": torch.tanh}  # TwinQ's choices (the course's MLPs: tanh)


class TwinQ(nn.Module):
    """``n_critics`` Q MLPs stored as stacked weights (n, in, out) so that one
    ``torch.baddbmm`` per layer evaluates all of them: (batch, ob+ac) -> (n, batch).
    Any n >= 1 (SAC's twin critics, hw3's ``num_critic_networks``)."""

    def __init__(self, in_dim: int, hidden: tuple[int, ...] = (256, 256), n_critics: int = 2,
                 activation: str = "relu"):
        super().__init__()
        if activation not in HIDDEN_ACTIVATIONS:
            raise ValueError(f"TwinQ activation must be one of {sorted(HIDDEN_ACTIVATIONS)}, got {activation!r}")
        if n_critics < 1:
            raise ValueError(f"TwinQ needs n_critics >= 1, got {n_critics}")
        self.activation = HIDDEN_ACTIVATIONS[activation]
        sizes = [in_dim, *hidden, 1]
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            # nn.Linear's default init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias
            bound = 1.0 / math.sqrt(fan_in)
            self.weights.append(nn.Parameter(torch.empty(n_critics, fan_in, fan_out).uniform_(-bound, bound)))
            self.biases.append(nn.Parameter(torch.empty(n_critics, 1, fan_out).uniform_(-bound, bound)))
        self.n_critics = n_critics

    def forward(self, obs: torch.Tensor, actions: torch.Tensor, detach_params: bool = False) -> torch.Tensor:
        """Q values (n_critics, batch). ``detach_params``: gradients reach the inputs only
        (the actor loss must not leave gradients on the critics)."""
        x = torch.cat([obs, actions], dim=-1)  # (batch, in_dim)
        # every layer one baddbmm on contiguous (n, batch, width) activations; the shared input is
        # broadcast, not copied (one addmm over n * width columns then a transposed view costs a
        # copy of the activations forward and backward: 2-5% of a SAC update)
        x = x.expand(self.n_critics, *x.shape)
        n_layers = len(self.weights)
        for k in range(n_layers):
            w, b = self.weights[k], self.biases[k]
            if detach_params:
                w, b = w.detach(), b.detach()
            x = torch.baddbmm(b, x, w)
            if k < n_layers - 1:
                x = self.activation(x)
        return x.squeeze(-1)
