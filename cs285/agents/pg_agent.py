"""Vanilla policy gradient (REINFORCE) with reward-to-go, a learned baseline and GAE (hw2).

``update(batch, step)`` on a ``rollouts.Batch`` of complete episodes (or segments) is a template
(``step``, the iteration, is not used):

    prepare_batch       merge the observations into the running statistics; scale the rewards
    estimate_advantages V(s_t), V(s_{t+1}) once (with a critic), then the hook ``_q_values_and_advantages``:
                        q_values = full return or reward-to-go; advantages = q_values, q_values − V(s_t)
                        or GAE(λ) (estimators.py); then optionally normalized to mean 0, std 1
    _learn (hook)       actor (hook ``_actor_step``): an Adam step on pg_surrogate_loss(log π(a|s), advantages);
                        critic: ``fit_baseline``, ``baseline_gradient_steps`` Adam steps on mean (V(s_t) − q_values_t)²

With ``normalize_obs`` the policy carries running observation statistics
(networks/normalization.py): each ``update`` first merges the batch into them,
then normalizes the batch once; the policy and the critic both see normalized
observations, and the collector's ``policy.snapshot()`` applies the same
statistics. Subclasses (is_pg_agent, npg_trpo_agent, ppo_agent, ac_agent) replace
the hooks ``_make_optimizers``, ``_q_values_and_advantages``, ``_actor_step`` or the
whole ``_learn``; the Adam actor step and the baseline fit are module functions given
the network and its optimizer, so no method needs an optimizer a subclass lacks. ``IGNORED_FLAGS``: the constructor
keywords a class accepts but does not use, each with the reason.

Ends of episodes: only ``terminated`` stops the bootstrap. With a critic, reward-to-go
and GAE add γ·V(s_T) of the real next observation after a truncated (time-limit) end
and nothing after a termination (Pardo et al. 2018, "Time Limits in Reinforcement
Learning"). Without a critic there is nothing to bootstrap with and the sums
stop at the end of the path, as in the course. The full-return estimator
(no reward-to-go) is a whole-trajectory quantity and never bootstraps.
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np
import torch
from torch import nn

from cs285.agents.pg_losses import pg_surrogate_loss
from cs285.infrastructure import estimators
from cs285.infrastructure import pytorch_util as ptu
from cs285.infrastructure.rollouts import Batch
from cs285.networks.critics import ValueCritic
from cs285.networks.normalization import EPS as NORM_EPS
from cs285.networks.normalization import ObsNormalizer
from cs285.networks.policies import MLPPolicy, numpy_mlp


class PGAgent:
    """Policy gradient agent: owns the policy, the optional critic and both optimizers.

    ob_dim, ac_dim: observation / action sizes (ac_dim = number of actions if discrete).
    n_layers, layer_size: hidden layers of the policy and of the critic.
    learning_rate: Adam step size of the policy.
    discount: γ in [0, 1].
    use_reward_to_go: Q̂_t = Σ_{t'≥t} γ^{t'−t} r_{t'} instead of the full return Σ_{t'} γ^{t'} r_{t'}.
    use_baseline: learn V_φ(s) and use A_t = Q̂_t − V(s_t) (or GAE).
    baseline_learning_rate, baseline_gradient_steps: Adam step size and full-batch steps of the critic.
    gae_lambda: λ in [0, 1] for GAE (needs use_baseline); None for Q̂ − V.
    normalize_advantages: standardize the advantages of each batch.
    normalize_obs: keep running observation statistics in the policy and feed both networks normalized observations.
    init_log_std, small_output_init: the policy's initialization (MLPPolicy).
    normalize_rewards: divide rewards by the running standard deviation of the discounted
        return so far (estimators.return_so_far_batch), as SB3's VecNormalize and CleanRL's PPO
        do; the critic then learns values in those units.
    """

    IGNORED_FLAGS: dict[str, str] = {}  # constructor keyword -> why this class does not use it

    def __init__(self, ob_dim: int, ac_dim: int, discrete: bool, n_layers: int, layer_size: int,
                 learning_rate: float, *, discount: float = 1.0, use_reward_to_go: bool = False,
                 use_baseline: bool = False, baseline_learning_rate: float = 5e-3, baseline_gradient_steps: int = 5,
                 gae_lambda: Optional[float] = None, normalize_advantages: bool = False, normalize_obs: bool = False,
                 init_log_std: float = 0.0, small_output_init: bool = False, normalize_rewards: bool = False):
        if gae_lambda is not None and not use_baseline:
            raise ValueError("GAE needs a value function: set use_baseline")
        if baseline_gradient_steps < 1:
            raise ValueError(f"baseline_gradient_steps must be at least 1, got {baseline_gradient_steps}")
        self.discrete = discrete
        self.discount = discount
        self.use_reward_to_go = use_reward_to_go
        self.gae_lambda = gae_lambda
        self.normalize_advantages = normalize_advantages
        self.baseline_gradient_steps = baseline_gradient_steps

        self.policy = MLPPolicy(ac_dim, ob_dim, discrete, n_layers, layer_size, normalize_obs=normalize_obs,
                                init_log_std=init_log_std, small_output_init=small_output_init)
        self.critic = ValueCritic(ob_dim, n_layers, layer_size) if use_baseline else None
        # running mean / variance of the discounted return so far (a one-dimensional "observation")
        self.return_stats = ObsNormalizer(1) if normalize_rewards else None
        self._make_optimizers(learning_rate, baseline_learning_rate)

    def _make_optimizers(self, learning_rate: float, baseline_learning_rate: float) -> None:
        """Hook: the optimizers this class steps; here Adam for the policy and for the critic."""
        self.actor_optimizer = ptu.adam(self.policy.parameters(), learning_rate)
        if self.critic is not None:
            self.critic_optimizer = ptu.adam(self.critic.parameters(), baseline_learning_rate)

    # ------------------------------------------------------------------ estimates (NumPy)

    @torch.no_grad()
    def values(self, observations: np.ndarray) -> np.ndarray:
        """V(s) of each row of raw ``observations`` (n, ob_dim) -> (n,) float64; needs a critic."""
        if self.critic is None:
            raise RuntimeError("this agent has no critic (use_baseline=False)")
        return ptu.to_numpy(self.critic(self.policy.normalize(ptu.from_numpy(observations)))).astype(np.float64)

    def estimate_advantages(self, batch: Batch) -> tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]:
        """(q_values, advantages, values), each (N,) float64; values is None without a critic.

        V(s_t), V(s_{t+1}) of the current critic in one pass; q_values (the critic's targets) and
        advantages from the hook ``_q_values_and_advantages``; then ``normalize_advantages``.
        """
        values = next_values = None
        if self.critic is not None:
            n = len(batch.rewards)
            both = self.values(np.concatenate([batch.observations, batch.next_observations]))  # (2N,)
            values, next_values = both[:n], both[n:]
        q_values, advantages = self._q_values_and_advantages(batch, values, next_values)
        if self.normalize_advantages:
            advantages = estimators.normalize(advantages)
        return q_values, advantages, values

    def _q_values_and_advantages(self, batch: Batch, values: Optional[np.ndarray],
                                 next_values: Optional[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Hook: (q_values, advantages) (N,) from V(s_t), V(s_{t+1}) (N,) or None: q_values = Σ_{t'} γ^{t'} r_{t'}
        (whole episode) or Σ_{t'≥t} γ^{t'−t} r_{t'} (+ γ^{T−t} V(s_T) after a truncation, with a critic);
        advantages = q_values, q_values − V(s_t), or GAE(λ)."""
        rewards, terminated, truncated = batch.rewards, batch.terminated, batch.truncated
        dones = terminated | truncated
        if not self.use_reward_to_go:
            q_values = estimators.discounted_return_batch(rewards, dones, self.discount)
        elif self.critic is None:
            q_values = estimators.reward_to_go_batch(rewards, dones, self.discount)
        else:
            q_values = estimators.bootstrapped_reward_to_go_batch(rewards, next_values, terminated, truncated,
                                                                  self.discount)
        if self.critic is None:
            advantages = q_values.copy()
        elif self.gae_lambda is None:
            advantages = q_values - values
        else:
            advantages = estimators.gae(rewards, values, next_values, terminated, truncated, self.discount,
                                        self.gae_lambda)
        return q_values, advantages

    # ------------------------------------------------------------------ updates (torch)

    def update(self, batch: Batch, step: int) -> dict[str, float]:
        """prepare_batch -> estimate_advantages -> _learn on a batch of complete episodes or segments.

        Returns ``Actor Loss`` and, with a critic, ``Baseline Loss`` (the last
        step's MSE) and ``Baseline Explained Variance`` (1 − Var(Q̂ − V)/Var(Q̂)
        before the update: 1 is a perfect fit, ≤ 0 no better than a constant).
        """
        batch = self.prepare_batch(batch)
        q_values, advantages, values = self.estimate_advantages(batch)
        return self._learn(batch, q_values, advantages, values)

    def prepare_batch(self, batch: Batch) -> Batch:
        """The batch with bool flags, after merging its observations into the running statistics;
        with ``normalize_rewards`` its rewards are the scaled ones."""
        terminated, truncated = np.asarray(batch.terminated, dtype=bool), np.asarray(batch.truncated, dtype=bool)
        rewards = batch.rewards
        if self.policy.obs_normalizer is not None:
            self.policy.obs_normalizer.update(batch.observations)
        if self.return_stats is not None:
            self.return_stats.update(estimators.return_so_far_batch(rewards, terminated | truncated,
                                                                    self.discount)[:, None])
            rewards = np.asarray(rewards) / math.sqrt(float(self.return_stats.var[0]) + NORM_EPS)
        return batch._replace(rewards=rewards, terminated=terminated, truncated=truncated)

    def _learn(self, batch: Batch, q_values: np.ndarray, advantages: np.ndarray,
               values: Optional[np.ndarray]) -> dict[str, float]:
        """Hook: step the networks on the prepared batch and its estimates, (N,) each; returns the logs.
        Here ``_actor_step``, then, with a critic, ``fit_baseline``."""
        obs, actions = self._tensors(batch)
        info = self._actor_step(obs, actions, ptu.from_numpy(advantages))
        if self.critic is not None:
            info.update(fit_baseline(self.critic, self.critic_optimizer, obs, q_values, values,
                                     self.baseline_gradient_steps))
        return info

    def _actor_step(self, obs: torch.Tensor, actions: torch.Tensor, advantages: torch.Tensor) -> dict[str, float]:
        """Hook: move the policy on normalized obs (N, ob_dim), actions and advantages (N,); returns the logs.
        Here ``adam_pg_step``."""
        return adam_pg_step(self.policy, self.actor_optimizer, obs, actions, advantages)

    def _tensors(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """(normalized observations (N, ob_dim), actions (N,) long or (N, ac_dim) float) as tensors."""
        actions = ptu.from_numpy(batch.actions, dtype=torch.long if self.discrete else torch.float32)
        return self.policy.normalize(ptu.from_numpy(batch.observations)), actions

    def optimizers(self) -> list[torch.optim.Optimizer]:
        """Every optimizer the agent steps (PPO replaces the actor / critic pair with one)."""
        names = ("optimizer", "actor_optimizer", "critic_optimizer")
        return [o for o in (getattr(self, name, None) for name in names) if o is not None]

    def state_dict(self) -> dict:
        """All the agent's learning state: networks (with the observation statistics), optimizers and
        return statistics; plain tensors and numbers, for ``ptu.save_checkpoint``."""
        state = {"policy": {k: v.clone() for k, v in self.policy.state_dict().items()},
                 "optimizers": [o.state_dict() for o in self.optimizers()]}
        if self.critic is not None:
            state["critic"] = {k: v.clone() for k, v in self.critic.state_dict().items()}
        if self.return_stats is not None:
            state["return_stats"] = self.return_stats.state_dict()
        return state

    def load_state_dict(self, state: dict) -> None:
        self.policy.load_state_dict(state["policy"])
        if self.critic is not None:
            self.critic.load_state_dict(state["critic"])
        for optimizer, saved in zip(self.optimizers(), state["optimizers"], strict=True):
            optimizer.load_state_dict(saved)
        if self.return_stats is not None:
            self.return_stats.load_state_dict(state["return_stats"])

    def export_expert(self, path: str) -> None:
        """Write the Gaussian policy's mean in the course's expert-pickle schema (tanh hidden layers,
        linear output, the observation normalizer as its Standardizer): exactly this network, except
        that the schema has no clip of normalized observations at ±10."""
        from cs285.policies.loaded_gaussian_policy import save_expert_policy

        policy = self.policy
        if policy.discrete or any(isinstance(m, nn.ReLU) for m in policy.mean_net):
            raise ValueError("the expert schema holds a Gaussian policy with tanh hidden layers")
        weights = numpy_mlp(policy.mean_net).affine_layers
        if policy.obs_normalizer is not None:
            mean = policy.obs_normalizer.mean.cpu().numpy()
            # the schema's std is sqrt(meansq − mean²) (+1e-6 in the loader); ours sqrt(var + 1e-8)
            meansq = policy.obs_normalizer.var.cpu().numpy() + mean**2
        else:
            mean, meansq = np.zeros(policy.ob_dim), np.ones(policy.ob_dim)
        save_expert_policy(path, obs_mean=mean, obs_meansq=meansq, hidden=weights[:-1], out=weights[-1],
                           logstd=ptu.to_numpy(policy.logstd), nonlin="tanh")

    def save(self, path: str) -> None:
        """The policy's checkpoint (``MLPPolicy.save``), which ``policies/load.py`` reads."""
        self.policy.save(path)


def adam_pg_step(policy: MLPPolicy, optimizer: torch.optim.Optimizer, obs: torch.Tensor, actions: torch.Tensor,
                 advantages: torch.Tensor) -> dict[str, float]:
    """One ``optimizer`` step on pg_surrogate_loss = −mean_i log π(a_i|s_i) A_i; obs normalized (N, ob_dim),
    actions (N,) or (N, ac_dim), advantages (N,). Returns {"Actor Loss": the loss before the step}."""
    log_probs = policy.distribution(obs).log_prob(actions)  # (N,)
    loss = pg_surrogate_loss(log_probs, advantages)
    ptu.optimizer_step(optimizer, loss)
    return {"Actor Loss": float(loss.detach())}


def fit_baseline(critic: ValueCritic, optimizer: torch.optim.Optimizer, obs: torch.Tensor, q_values: np.ndarray,
                 values: np.ndarray, steps: int) -> dict[str, float]:
    """``steps`` full-batch steps on mean_i (V(s_i) − q_values_i)²; obs normalized (N, ob_dim), q_values and values
    (V before the steps) (N,). Returns the last ``Baseline Loss`` and the explained variance of q_values."""
    targets = ptu.from_numpy(q_values)  # (N,)
    loss_fn = nn.MSELoss()
    for _ in range(steps):
        loss = loss_fn(critic(obs), targets)
        ptu.optimizer_step(optimizer, loss)
    return {"Baseline Loss": float(loss.detach()), "Baseline Explained Variance": explained_variance(values, q_values)}


def explained_variance(predictions: np.ndarray, targets: np.ndarray) -> float:
    """1 − Var(targets − predictions) / Var(targets); NaN when the targets are constant."""
    var = float(np.var(targets))
    return float("nan") if var == 0.0 else 1.0 - float(np.var(targets - predictions)) / var
