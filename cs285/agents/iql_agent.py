"""Implicit Q-learning (Kostrikov et al. 2021, arXiv:2110.06169), discrete actions, on hw5's DQN.

Q (DQN's critic, with target Q_targ), a state value V_φ (``value_critic``, target V_targ) and AWAC's
actor π. One ``update`` on N transitions, in the handout's names (τ = ``expectile``, λ = ``temperature``):

    Q:      y_i = r_i + γ (1 − terminated_i) V_targ(s'_i)
            q_loss = mean_i (Q(s_i, a_i) − y_i)²                        (DQN's step: LR schedule, clip)
    V:      μ_i = Q_targ(s_i, a_i) − V(s_i)
            v_loss = mean_i |τ − 1{μ_i ≤ 0}| μ_i²                      (the expectile loss L₂^τ)
    actor:  A_i = Q_targ(s_i, a_i) − V(s_i)                             (no gradient)
            actor_loss = −mean_i log π(a_i|s_i) · exp(A_i / λ)
    then Q_targ ← Q and V_targ ← V when step % target_update_period == 0 (the course's order).

With τ > ½ V fits an upper expectile of Q(s, a) over the dataset's actions, a soft maximum that
never queries an action the data lacks. The handout writes the losses with Q_θ and V_φ; the course
keeps the target copies and refreshes both together, and the paper's V target and advantage read the
target Q (its eqs. 5 and 7), as here. Q and V steps each read only the other's target, so their order
does not matter; the actor reads the V just updated.

``update`` returns the course's IQL keys: q_loss, q_values, q_grad_norm, v_loss, vs (mean V(s)),
vs_adv (mean V(s) − Q_targ(s, a)), target_values (mean Q_targ(s, a), V's target: the course's
dict merge lets it replace Q's), v_grad_norm, actor_loss; and lr, Q's rate (DQN's).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from cs285.agents.awac_agent import AdvantageWeightedRegression
from cs285.agents.dqn_agent import DQNAgent
from cs285.infrastructure import pytorch_util as ptu


def expectile_loss(expectile: float, vs: torch.Tensor, target_qs: torch.Tensor) -> torch.Tensor:
    """mean_i |τ − 1{μ_i ≤ 0}| μ_i² with μ = target_qs − vs, (N,) each: errors where V is below its
    target weigh τ, the others 1 − τ (τ = ½: half the squared error)."""
    diff = target_qs - vs
    return (torch.where(diff > 0, expectile, 1.0 - expectile) * diff.square()).mean()


class IQLAgent(DQNAgent):
    """IQL of the module docstring.

    expectile: τ in (0, 1) (the course: 0.9; its maze files: 0.99).
    temperature, actor_hidden_size, actor_num_layers, actor_learning_rate: AWAC's actor.
    hidden_size, num_layers, learning_rate: Q's MLP and Adam, and V's too (the course's IQL: 64, 2, 3e-4);
        V's gradient is clipped to the same clip_grad_norm.
    dqn_kwargs: the rest of ``DQNAgent``'s, without use_double_q.
    """

    def __init__(self, observation_shape: Sequence[int], num_actions: int, *, expectile: float = 0.9,
                 temperature: float = 1.0, hidden_size: int = 64, num_layers: int = 2, learning_rate: float = 3e-4,
                 actor_hidden_size: int = 128, actor_num_layers: int = 2, actor_learning_rate: float = 3e-4,
                 **dqn_kwargs):
        if not 0.0 < expectile < 1.0:
            raise ValueError(f"expectile must be in (0, 1), got {expectile}")
        if dqn_kwargs.pop("use_double_q", False):
            raise ValueError("IQL bootstraps with V_targ(s'); use_double_q does not apply")
        self.expectile = float(expectile)
        # V before DQN's init, whose target copy (update_target_critic) copies V too
        ob_dim = int(np.prod(observation_shape))
        self.value_critic = ptu.build_mlp(ob_dim, 1, num_layers, hidden_size).to(ptu.device)
        self.target_value_critic = ptu.build_mlp(ob_dim, 1, num_layers, hidden_size).to(ptu.device)
        self.target_value_critic.requires_grad_(False)
        (flat,), self.value_flat_grad = ptu.flatten_parameters(self.value_critic.parameters())
        self.value_optimizer = ptu.adam([flat], learning_rate)
        super().__init__(observation_shape, num_actions, hidden_size=hidden_size, num_layers=num_layers,
                         learning_rate=learning_rate, **dqn_kwargs)
        self.awr = AdvantageWeightedRegression(observation_shape, num_actions, actor_hidden_size, actor_num_layers,
                                               actor_learning_rate, temperature)

    def target_values(self, rewards: torch.Tensor, next_obs: torch.Tensor, terminated: torch.Tensor) -> torch.Tensor:
        """Q's target y = r + γ (1 − terminated) V_targ(s'), (N,)."""
        with torch.no_grad():
            next_v = self.target_value_critic(next_obs).squeeze(-1)
        return self.bootstrap(rewards, next_v, terminated)

    def update_v(self, obs: torch.Tensor, actions: torch.Tensor) -> dict[str, float]:
        """One Adam step on the expectile loss of V(s) against Q_targ(s, a)."""
        with torch.no_grad():
            target_qs = self.target_critic(obs).gather(1, actions[:, None]).squeeze(1)
        vs = self.value_critic(obs).squeeze(-1)
        loss = expectile_loss(self.expectile, vs, target_qs)
        grad_norm = ptu.optimizer_step(self.value_optimizer, loss, self.value_flat_grad, self.clip_grad_norm)
        vs = vs.detach()
        stats = torch.stack([loss.detach(), (vs - target_qs).mean(), vs.mean(), target_qs.mean(), grad_norm])
        return dict(zip(("v_loss", "vs_adv", "vs", "target_values", "v_grad_norm"), stats.tolist()))

    def advantages(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """A = Q_targ(s, a) − V(s), (N,), without gradient."""
        with torch.no_grad():
            target_qs = self.target_critic(obs).gather(1, actions[:, None]).squeeze(1)
            return target_qs - self.value_critic(obs).squeeze(-1)

    def update_critic(self, obs: torch.Tensor, actions: torch.Tensor, rewards: torch.Tensor,
                      next_obs: torch.Tensor, terminated: torch.Tensor) -> dict[str, float]:
        """The Q step (DQN's, with V's target), the V step, the actor step; the target copies follow in ``update``."""
        q = super().update_critic(obs, actions, rewards, next_obs, terminated)
        stats = {"q_loss": q["critic_loss"], "q_values": q["q_values"], "target_values": q["target_values"],
                 "q_grad_norm": q["grad_norm"], "lr": q["lr"], **self.update_v(obs, actions)}
        stats["actor_loss"] = self.awr.update(obs, actions, self.advantages(obs, actions))
        return stats

    def update_target_critic(self) -> None:
        """Q_targ ← Q and V_targ ← V."""
        super().update_target_critic()
        self.target_value_critic.load_state_dict(self.value_critic.state_dict())

    def state_dict(self) -> dict:
        return {**super().state_dict(), "value_critic": self.value_critic.state_dict(),
                "target_value_critic": self.target_value_critic.state_dict(),
                "value_optimizer": self.value_optimizer.state_dict(), "awr": self.awr.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.value_critic.load_state_dict(state["value_critic"])
        self.target_value_critic.load_state_dict(state["target_value_critic"])
        self.value_optimizer.load_state_dict(state["value_optimizer"])
        self.awr.load_state_dict(state["awr"])
