"""Random network distillation (Burda et al. 2018, arXiv:1810.12894) on hw5's DQN: an exploration bonus.

A fixed random network f*_θ (``rnd_target_net``) and a trained predictor f̂_φ (``rnd_net``), both
(N, ob_dim) -> (N, rnd_dim) MLPs. The handout's prediction error of a state s',

    E_φ(s') = ‖f̂_φ(s') − f*_θ(s')‖₂,

is small where the predictor has been trained (visited states) and large elsewhere. One ``update`` on
N transitions:
    b_i = (E_φ(s'_i) − mean_j E_φ(s'_j)) / (std_j E_φ(s'_j) + ε)     the error, normalized over the batch
    r̄_i = r_i + rnd_weight · b_i
    DQN's critic step on r̄ (double Q, target network: ``DQNAgent``)
    rnd_loss = mean_i E_φ(s_i), one Adam step on φ
The handout asks to normalize the error "as this value can vary widely in magnitude across states";
the course's 2023 code names no scheme, and this batch standardization keeps none of its own
state. The predictor learns from the batch's observations s_i, as the course's
``update_rnd(observations)`` does; the bonus rates the state reached, s'_i (the handout's E_φ(s')).

f*_θ keeps the course's init (every weight and bias ~ N(0, 1), its ``init_network``), so that its
outputs are far from the predictor's (torch's default init) before training.
The course's exploration loop passes r = 0 unless its config sets ``use_reward``: then r̄ is the bonus alone.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn

from cs285.agents.dqn_agent import DQNAgent
from cs285.infrastructure import pytorch_util as ptu

NORMALIZE_EPS = 1e-8  # keeps a batch of equal errors finite: their bonus is 0


def init_target_network(network: nn.Module) -> None:
    """The course's ``init_network``: every Linear's weight and bias drawn from N(0, 1)."""
    for module in network.modules():
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight)
            nn.init.normal_(module.bias)


def normalized_bonus(errors: torch.Tensor) -> torch.Tensor:
    """(E − mean E) / (std E + ε) over the batch (N,), population std."""
    return (errors - errors.mean()) / (errors.std(correction=0) + NORMALIZE_EPS)


class RNDAgent(DQNAgent):
    """DQN on r + rnd_weight · (normalized prediction error); ``update`` adds ``rnd_loss`` to DQN's scalars.

    rnd_weight: the bonus's weight (the course: required, 1.0 in every shipped file).
    rnd_dim, rnd_hidden_size, rnd_num_layers: both RND networks' output size and tanh hidden layers
        (the course's ``rnd_dim`` 5, ``rnd_network_hidden_size`` 400, ``rnd_network_num_layers`` 2).
    rnd_learning_rate: the predictor's Adam rate (``rnd_network_learning_rate``, 1e-3).
    dqn_kwargs: ``DQNAgent``'s (MLP observations only).
    """

    def __init__(self, observation_shape: Sequence[int], num_actions: int, *, rnd_weight: float, rnd_dim: int = 5,
                 rnd_hidden_size: int = 400, rnd_num_layers: int = 2, rnd_learning_rate: float = 1e-3, **dqn_kwargs):
        super().__init__(observation_shape, num_actions, **dqn_kwargs)
        ob_dim = int(np.prod(observation_shape))
        self.rnd_weight = float(rnd_weight)
        self.rnd_net = ptu.build_mlp(ob_dim, rnd_dim, rnd_num_layers, rnd_hidden_size).to(ptu.device)
        self.rnd_target_net = ptu.build_mlp(ob_dim, rnd_dim, rnd_num_layers, rnd_hidden_size).to(ptu.device)
        init_target_network(self.rnd_target_net)
        self.rnd_target_net.requires_grad_(False)
        self.rnd_optimizer = ptu.adam(self.rnd_net.parameters(), rnd_learning_rate)

    def prediction_error(self, obs: torch.Tensor) -> torch.Tensor:
        """E_φ(s) = ‖f̂_φ(s) − f*_θ(s)‖₂, (N,), with gradient to φ."""
        return torch.linalg.vector_norm(self.rnd_net(obs) - self.rnd_target_net(obs), dim=-1)

    def update_critic(self, obs: torch.Tensor, actions: torch.Tensor, rewards: torch.Tensor,
                      next_obs: torch.Tensor, terminated: torch.Tensor) -> dict[str, float]:
        """DQN's critic step on the rewards plus the bonus, then one predictor step; adds rnd_loss."""
        with torch.no_grad():
            rewards = rewards + self.rnd_weight * normalized_bonus(self.prediction_error(next_obs))
        stats = super().update_critic(obs, actions, rewards, next_obs, terminated)
        rnd_loss = self.prediction_error(obs).mean()
        ptu.optimizer_step(self.rnd_optimizer, rnd_loss)
        stats["rnd_loss"] = rnd_loss.item()
        return stats

    def state_dict(self) -> dict:
        """DQN's state, the predictor, the fixed random target (its draw is the agent's) and their Adam."""
        return {**super().state_dict(), "rnd_net": self.rnd_net.state_dict(),
                "rnd_target_net": self.rnd_target_net.state_dict(), "rnd_optimizer": self.rnd_optimizer.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.rnd_net.load_state_dict(state["rnd_net"])
        self.rnd_target_net.load_state_dict(state["rnd_target_net"])
        self.rnd_optimizer.load_state_dict(state["rnd_optimizer"])
