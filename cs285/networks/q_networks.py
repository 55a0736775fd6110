"""Q-networks for discrete actions: observations -> one value per action, Q(s, ·).

- ``mlp``: the course's dqn_basic critic, ``ptu.build_mlp`` with its defaults
  (tanh hidden layers): (batch, ob_dim) float -> (batch, num_actions).
- ``cnn``: the Nature DQN network (Mnih et al. 2015, "Human-level control through
  deep reinforcement learning", Methods) the course's dqn_atari uses:
  (batch, 4, 84, 84) uint8 frames, scaled by 1/255 inside -> conv 32·8×8 stride 4
  -> conv 64·4×4 stride 2 -> conv 64·3×3 stride 1 -> 512 -> num_actions, ReLU between.
Like the other networks they own no loss and no optimizer (the agent does).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn

from cs285.infrastructure import pytorch_util as ptu

Q_NETWORKS = ("mlp", "cnn")
ATARI_OBSERVATION_SHAPE = (4, 84, 84)  # 4 stacked 84×84 grayscale frames, channels first


class NatureCNN(nn.Module):
    """(batch, 4, 84, 84) uint8 -> (batch, num_actions); 84 -> 20 -> 9 -> 7 spatially, so 64·7·7 = 3136 features."""

    def __init__(self, num_actions: int):
        super().__init__()
        self.convs = nn.Sequential(
            nn.Conv2d(4, 32, kernel_size=8, stride=4), nn.ReLU(),
            nn.Conv2d(32, 64, kernel_size=4, stride=2), nn.ReLU(),
            nn.Conv2d(64, 64, kernel_size=3, stride=1), nn.ReLU(),
            nn.Flatten(),
        )
        self.head = nn.Sequential(nn.Linear(64 * 7 * 7, 512), nn.ReLU(), nn.Linear(512, num_actions))

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        if frames.shape[-3:] != ATARI_OBSERVATION_SHAPE:
            raise ValueError(f"NatureCNN takes (batch, 4, 84, 84) frames, got {tuple(frames.shape)}")
        return self.head(self.convs(frames.float() / 255.0))


def build_q_network(network: str, observation_shape: Sequence[int], num_actions: int,
                    hidden_size: int = 64, num_layers: int = 2) -> nn.Module:
    """Q(s, ·) on ``ptu.device``; hidden_size and num_layers shape the MLP (the CNN is fixed)."""
    shape = tuple(int(d) for d in observation_shape)
    if network == "mlp":
        if len(shape) != 1:
            raise ValueError(f"the mlp Q-network takes flat observations, got shape {shape} (use network cnn)")
        return ptu.build_mlp(int(np.prod(shape)), num_actions, num_layers, hidden_size).to(ptu.device)
    if network == "cnn":
        if shape != ATARI_OBSERVATION_SHAPE:
            raise ValueError(f"the cnn Q-network takes observations of shape {ATARI_OBSERVATION_SHAPE}, got {shape}")
        return NatureCNN(num_actions).to(ptu.device)
    raise ValueError(f"unknown Q-network {network!r}; choose one of {', '.join(Q_NETWORKS)}")
