"""Batch actor-critic with a bootstrapped critic and a target network (``--pg_method ac``).

CS285 lecture 6 ("batch actor-critic algorithm"); n-step returns as in Mnih
et al. 2016 (A3C). On each batch (complete episodes, or segments cut with a bootstrap):

    critic: ``critic_updates_per_iter`` Adam steps on mean (V(s_t) − y_t)², with
            y_t = Σ_{k<m} γ^k r_{t+k} + γ^m (1 − terminated) V_target(s_{t+m})    (estimators.n_step_targets)
            V_target is a copy of V, refreshed every ``target_update_period`` critic
            steps (counted across iterations); y is recomputed at each refresh.
    actor:  one Adam step on pg_surrogate_loss(log π(a|s), A) with the updated critic,
            A_t = r_t + γ(1 − terminated_t) V(s_{t+1}) − V(s_t)          (n_step = 1; n-step analogue otherwise)
            (PGAgent.estimate_advantages with this class's hook), so ``update`` orders PGAgent's parts
            itself: prepare_batch -> critic steps -> estimate_advantages -> actor step.

Only a termination drops the bootstrap: a time-limit truncation keeps
γ V(s_{t+1}) of the real next observation.
"""
from __future__ import annotations

import copy

import numpy as np
import torch

from cs285.agents.pg_agent import PGAgent, adam_pg_step, explained_variance
from cs285.infrastructure import estimators
from cs285.infrastructure import pytorch_util as ptu
from cs285.infrastructure.rollouts import Batch


class ActorCriticAgent(PGAgent):
    """PGAgent whose advantages come from a bootstrapped critic instead of Monte Carlo returns.

    critic_updates_per_iter: critic Adam steps per batch (step size ``baseline_learning_rate``).
    target_update_period: critic steps between copies of V into V_target.
    n_step: rewards summed before bootstrapping, for both the critic targets and the advantages.
    Other arguments: PGAgent's, but for IGNORED_FLAGS.
    """

    IGNORED_FLAGS = {"use_baseline": "actor-critic always learns a critic",
                     "use_reward_to_go": "the critic targets are n-step bootstrapped returns (--n_step)",
                     "gae_lambda": "the advantages are n-step: y − V(s)",
                     "baseline_gradient_steps": "the critic takes --critic_updates_per_iter steps"}

    def __init__(self, *args, critic_updates_per_iter: int = 100, target_update_period: int = 10, n_step: int = 1,
                 **kwargs):
        kwargs["use_baseline"] = True
        super().__init__(*args, **kwargs)
        if min(critic_updates_per_iter, target_update_period, n_step) < 1:
            raise ValueError("critic_updates_per_iter, target_update_period and n_step must be at least 1")
        self.critic_updates_per_iter = critic_updates_per_iter
        self.target_update_period = target_update_period
        self.n_step = n_step
        self.critic_target = copy.deepcopy(self.critic).requires_grad_(False)
        self.critic_steps_done = 0

    def critic_targets(self, rewards: np.ndarray, next_obs: torch.Tensor, terminated: np.ndarray,
                       truncated: np.ndarray) -> np.ndarray:
        """The critic's targets y (N,) float64 = n_step_targets with V_target of normalized next_obs (N, ob_dim)."""
        with torch.no_grad():
            next_values = ptu.to_numpy(self.critic_target(next_obs)).astype(np.float64)
        return estimators.n_step_targets(rewards, next_values, terminated, truncated, self.discount, self.n_step)

    def _q_values_and_advantages(self, batch: Batch, values, next_values) -> tuple[np.ndarray, np.ndarray]:
        """(y, A) (N,): y = n_step_targets with the current critic's V(s_{t+1}) (N,), A_t = y_t − V(s_t)."""
        y = estimators.n_step_targets(batch.rewards, next_values, batch.terminated, batch.truncated, self.discount,
                                      self.n_step)
        return y, y - values

    def update(self, batch: Batch, step: int) -> dict[str, float]:
        """Critic steps, then one actor step on the advantages of the updated critic.

        Returns ``Actor Loss``, ``Baseline Loss`` (last critic step's MSE) and
        ``Baseline Explained Variance`` (of the first targets by V before the update).
        """
        batch = self.prepare_batch(batch)
        obs, actions = self._tensors(batch)  # (N, ob_dim) normalized, (N, ...)
        next_obs = self.policy.normalize(ptu.from_numpy(batch.next_observations))
        with torch.no_grad():
            values_before = ptu.to_numpy(self.critic(obs)).astype(np.float64)

        first_targets = targets = loss = None
        for _ in range(self.critic_updates_per_iter):
            refresh = self.critic_steps_done % self.target_update_period == 0
            if refresh:
                self.critic_target.load_state_dict(self.critic.state_dict())
            if refresh or targets is None:
                y = self.critic_targets(batch.rewards, next_obs, batch.terminated, batch.truncated)
                first_targets = y if first_targets is None else first_targets
                targets = ptu.from_numpy(y)
            loss = (self.critic(obs) - targets).pow(2).mean()
            ptu.optimizer_step(self.critic_optimizer, loss)
            self.critic_steps_done += 1

        _, advantages, _ = self.estimate_advantages(batch)
        info = adam_pg_step(self.policy, self.actor_optimizer, obs, actions, ptu.from_numpy(advantages))
        info["Baseline Loss"] = float(loss.detach())
        info["Baseline Explained Variance"] = explained_variance(values_before, first_targets)
        return info

    def state_dict(self) -> dict:
        """PGAgent's state, the target network V_target and the critic-step count that times its refreshes."""
        return {**super().state_dict(), "critic_steps_done": self.critic_steps_done,
                "critic_target": {k: v.clone() for k, v in self.critic_target.state_dict().items()}}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.critic_target.load_state_dict(state["critic_target"])
        self.critic_steps_done = int(state["critic_steps_done"])
