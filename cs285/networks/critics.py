"""Value networks: observations -> state values V(s).

Like the policies, critics own no loss and no optimizer: agents do.
"""
from __future__ import annotations

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
