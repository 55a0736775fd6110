"""Advantage-weighted actor-critic (Nair et al. 2020, arXiv:2006.09359), discrete actions, on hw5's DQN.

A categorical policy π_ψ (``awr.policy``) and DQN's critic Q with its target copy Q_targ. One ``update`` on
N transitions, in the handout's names (λ = ``temperature``):

    critic:  y_i = r_i + γ (1 − terminated_i) Σ_a' π(a'|s'_i) Q_targ(s'_i, a')
             critic_loss = mean_i (Q(s_i, a_i) − y_i)²                    (DQN's step, clip and target copy)
    actor:   A_i = Q(s_i, a_i) − Σ_a π(a|s_i) Q(s_i, a)                    (after the critic step, no gradient)
             actor_loss = −mean_i log π(a_i|s_i) · exp(A_i / λ)

The actor step is weighted behaviour cloning of the dataset's actions, the weight exp(A/λ) growing
with the advantage; ``AdvantageWeightedRegression`` owns it (IQL's actor is the same with A = Q − V).
The critic bootstraps with E_π Q_targ(s', ·), so the course's ``use_double_q`` has no meaning here and
is refused. The course evaluates hw5's agents through DQN's ``get_action`` (argmax Q); ``actor(ε)``
is that, and ``awr.policy.snapshot()`` is π's own actor.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from cs285.agents.dqn_agent import DQNAgent
from cs285.infrastructure import pytorch_util as ptu
from cs285.networks.policies import MLPPolicy


def advantage_weights(advantages: torch.Tensor, temperature: float) -> torch.Tensor:
    """exp(A / λ), (N,)."""
    return torch.exp(advantages / temperature)


def expected_q(probs: torch.Tensor, qa_values: torch.Tensor) -> torch.Tensor:
    """Σ_a π(a|s_i) Q(s_i, a): probs and qa_values (N, num_actions) -> (N,)."""
    return (probs * qa_values).sum(-1)


class AdvantageWeightedRegression:
    """π_ψ(a|s), a categorical tanh MLP (``MLPPolicy``), and its Adam step on
    −mean_i log π(a_i|s_i) · exp(A_i / λ), the advantages given (AWAC's and IQL's actor)."""

    def __init__(self, observation_shape: Sequence[int], num_actions: int, hidden_size: int, num_layers: int,
                 learning_rate: float, temperature: float):
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.policy = MLPPolicy(num_actions, int(np.prod(observation_shape)), True, num_layers, hidden_size)
        self.optimizer = ptu.adam(self.policy.parameters(), learning_rate)
        self.temperature = float(temperature)

    def update(self, obs: torch.Tensor, actions: torch.Tensor, advantages: torch.Tensor) -> float:
        """One step; obs (N, *ob_shape), actions (N,) int64, advantages (N,) without gradient. Returns the loss."""
        log_probs = self.policy(obs).log_prob(actions)  # (N,)
        loss = -(log_probs * advantage_weights(advantages, self.temperature)).mean()
        ptu.optimizer_step(self.optimizer, loss)
        return loss.item()

    def state_dict(self) -> dict:
        return {"policy": self.policy.state_dict(), "optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.policy.load_state_dict(state["policy"])
        self.optimizer.load_state_dict(state["optimizer"])


class AWACAgent(DQNAgent):
    """AWAC of the module docstring; ``update`` returns DQN's scalars and actor_loss.

    temperature: λ > 0 (the course: 1; its hard-maze file: 10).
    actor_hidden_size, actor_num_layers, actor_learning_rate: π's MLP and Adam (the course: 128, 2, 3e-4).
    dqn_kwargs: ``DQNAgent``'s, without use_double_q.
    """

    def __init__(self, observation_shape: Sequence[int], num_actions: int, *, temperature: float = 1.0,
                 actor_hidden_size: int = 128, actor_num_layers: int = 2, actor_learning_rate: float = 3e-4,
                 **dqn_kwargs):
        if dqn_kwargs.pop("use_double_q", False):
            raise ValueError("AWAC bootstraps with E_π Q_targ(s', ·); use_double_q does not apply")
        super().__init__(observation_shape, num_actions, **dqn_kwargs)
        self.awr = AdvantageWeightedRegression(observation_shape, num_actions, actor_hidden_size, actor_num_layers,
                                               actor_learning_rate, temperature)

    def target_values(self, rewards: torch.Tensor, next_obs: torch.Tensor, terminated: torch.Tensor) -> torch.Tensor:
        """y = r + γ (1 − terminated) Σ_a' π(a'|s') Q_targ(s', a'), (N,)."""
        with torch.no_grad():
            next_v = expected_q(self.awr.policy(next_obs).probs, self.target_critic(next_obs))
        return self.bootstrap(rewards, next_v, terminated)

    def advantages(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """A = Q(s, a) − Σ_a' π(a'|s) Q(s, a'), (N,), without gradient."""
        with torch.no_grad():
            qa_values = self.critic(obs)
            return qa_values.gather(1, actions[:, None]).squeeze(1) - expected_q(self.awr.policy(obs).probs, qa_values)

    def update_critic(self, obs: torch.Tensor, actions: torch.Tensor, rewards: torch.Tensor,
                      next_obs: torch.Tensor, terminated: torch.Tensor) -> dict[str, float]:
        """DQN's critic step with AWAC's target, then the actor step on the updated critic."""
        stats = super().update_critic(obs, actions, rewards, next_obs, terminated)
        stats["actor_loss"] = self.awr.update(obs, actions, self.advantages(obs, actions))
        return stats

    def state_dict(self) -> dict:
        return {**super().state_dict(), "awr": self.awr.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.awr.load_state_dict(state["awr"])
