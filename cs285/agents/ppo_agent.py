"""Proximal policy optimization with the clipped surrogate (``--pg_method ppo``).

Schulman, Wolski, Dhariwal, Radford, Klimov 2017, "Proximal Policy
Optimization Algorithms", algorithm 1 with eq. 9's combined objective. On each
batch of episodes or segments (PGAgent.update's template, with this class's hooks):

    values, next_values = V(s_t), V(s_{t+1})                    (critic before the update)
    advantages = GAE(λ)       (Schulman et al. 2016, estimators.gae: bootstrap at truncations only)
    returns    = advantages + values                            (q_values: the critic's targets, TD(λ) returns)
    for each of ``ppo_epochs`` epochs, for each minibatch of a fresh permutation:
        log_ratio = log π_θ(a|s) − log π_old(a|s)
        loss = ppo_clip_loss(log_ratio, A, ε) + vf_coef · mean (V(s) − returns)² − ent_coef · mean H[π(·|s)]
        clip the gradient norm of policy + critic jointly to ``max_grad_norm``; one Adam step
        stop early once the minibatch's approx KL exceeds ``target_kl``

π_old is the policy at the start of the update, after ``normalize_obs`` has
merged the batch into the observation statistics (the sampler used the
previous ones: a small, standard mismatch, as with SB3's VecNormalize).

The policy and critic are separate networks stepped by one Adam with step
sizes ``learning_rate`` and ``baseline_learning_rate``; Adam is invariant to a
loss's scale, so ``vf_coef`` acts through the joint gradient-norm clip.

Speed: the batch is converted to tensors and normalized once; each epoch
gathers the whole batch in one permuted order, so a minibatch is a contiguous
slice (a view, no copy, no NumPy); log-probs skip distribution objects
(MLPPolicy.log_prob_and_entropy); both networks live in one flat parameter and
gradient buffer (ptu.flatten_parameters), so zeroing, clipping and the Adam step
are a few kernels; diagnostics are computed once per update on the whole batch.
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np
import torch

from cs285.agents.pg_agent import PGAgent, explained_variance
from cs285.agents.pg_losses import approx_kl, ppo_clip_loss
from cs285.infrastructure import estimators
from cs285.infrastructure import pytorch_util as ptu
from cs285.infrastructure.rollouts import Batch


class PPOAgent(PGAgent):
    """PGAgent with a critic, GAE advantages and PPO's clipped minibatch epochs.

    gae_lambda: λ of GAE (default 0.95).
    clip_eps: ε of the clipped surrogate.
    ppo_epochs: passes over each batch.
    ppo_minibatch_size: steps per minibatch; or n_minibatches: split each batch into this many (overrides it).
    vf_coef, ent_coef: weights of the value loss and of the entropy bonus.
    target_kl: stop the epochs once a minibatch's approx KL exceeds it (None: never).
    max_grad_norm: joint gradient-norm clip of policy and critic (None: no clip).
    Other arguments: PGAgent's, but for IGNORED_FLAGS. ``normalize_advantages`` standardizes once per batch.
    """

    IGNORED_FLAGS = {"use_baseline": "PPO always learns a critic",
                     "use_reward_to_go": "PPO's critic targets are GAE returns",
                     "baseline_gradient_steps": "the critic trains in PPO's minibatch epochs"}

    def __init__(self, ob_dim: int, ac_dim: int, discrete: bool, n_layers: int, layer_size: int,
                 learning_rate: float, *, baseline_learning_rate: float = 5e-3, gae_lambda: float = 0.95,
                 clip_eps: float = 0.2, ppo_epochs: int = 10, ppo_minibatch_size: int = 64,
                 n_minibatches: Optional[int] = None, vf_coef: float = 0.5, ent_coef: float = 0.0,
                 target_kl: Optional[float] = None, max_grad_norm: Optional[float] = 0.5, **kwargs):
        kwargs["use_baseline"] = True
        super().__init__(ob_dim, ac_dim, discrete, n_layers, layer_size, learning_rate,
                         baseline_learning_rate=baseline_learning_rate, gae_lambda=gae_lambda, **kwargs)
        if clip_eps <= 0 or ppo_epochs < 1 or ppo_minibatch_size < 1 or (n_minibatches is not None
                                                                         and n_minibatches < 1):
            raise ValueError("need clip_eps > 0 and ppo_epochs, ppo_minibatch_size, n_minibatches >= 1")
        self.clip_eps, self.ppo_epochs = clip_eps, ppo_epochs
        self.ppo_minibatch_size, self.n_minibatches = ppo_minibatch_size, n_minibatches
        self.vf_coef, self.ent_coef = vf_coef, ent_coef
        self.target_kl, self.max_grad_norm = target_kl, max_grad_norm

    def _make_optimizers(self, learning_rate: float, baseline_learning_rate: float) -> None:
        # Both networks' weights and gradients in one buffer: one norm for the clip, one zero_ and one
        # Adam step per minibatch (one fused kernel if the step sizes agree, else one per network).
        if learning_rate == baseline_learning_rate:
            (flat,), self.flat_grad = ptu.flatten_parameters(self.all_parameters())
            self.optimizer = ptu.adam([flat], learning_rate)
        else:
            (policy_flat, critic_flat), self.flat_grad = ptu.flatten_parameters(self.policy.parameters(),
                                                                              self.critic.parameters())
            self.optimizer = ptu.adam([{"params": [policy_flat], "lr": learning_rate},
                                       {"params": [critic_flat], "lr": baseline_learning_rate}], learning_rate)
        self.base_learning_rates = [group["lr"] for group in self.optimizer.param_groups]

    def set_learning_rate_fraction(self, fraction: float) -> None:
        """Scale both step sizes to ``fraction`` of their initial values (a learning-rate schedule)."""
        for group, base in zip(self.optimizer.param_groups, self.base_learning_rates):
            group["lr"] = base * fraction

    def all_parameters(self) -> list[torch.nn.Parameter]:
        return list(self.policy.parameters()) + list(self.critic.parameters())

    def minibatch_size(self, n: int) -> int:
        """Steps per minibatch for a batch of n steps."""
        if self.n_minibatches is not None:
            return max(1, math.ceil(n / self.n_minibatches))
        return min(self.ppo_minibatch_size, n)

    def _q_values_and_advantages(self, batch: Batch, values, next_values) -> tuple[np.ndarray, np.ndarray]:
        """(returns, advantages) (N,): A = GAE(λ) of V(s_t), V(s_{t+1}) (N,); returns = A + V(s_t)."""
        advantages = estimators.gae(batch.rewards, values, next_values, batch.terminated, batch.truncated,
                                    self.discount, self.gae_lambda)
        return advantages + values, advantages

    def _learn(self, batch: Batch, q_values, advantages, values) -> dict[str, float]:
        """PPO epochs on the prepared batch; q_values are the GAE returns.

        Returns ``Actor Loss`` (clipped surrogate) and ``Baseline Loss`` (value MSE),
        both means over the minibatch steps; then, measured on the whole batch
        after the update: ``Entropy`` (mean H[π(·|s)]), ``Approx KL``
        (pg_losses.approx_kl, an estimate of KL(π_old ‖ π_θ)) and ``Clip Fraction``
        (share of steps with |ρ − 1| > ε); ``Explained Variance`` of the returns
        by the critic before the update; ``PPO Epochs`` run (fewer after a
        ``target_kl`` stop).
        """
        obs, acts = self._tensors(batch)  # (N, ob_dim), (N, ...)
        with torch.no_grad():
            old_log_probs, _ = self.policy.log_prob_and_entropy(obs, acts)  # (N,)
        data = (obs, acts, old_log_probs, ptu.from_numpy(advantages), ptu.from_numpy(q_values))
        info = self._epochs(data, self.minibatch_size(len(obs)))
        with torch.no_grad():
            log_probs, entropy = self.policy.log_prob_and_entropy(obs, acts)
            log_ratio = log_probs - old_log_probs
            ratio = log_ratio.exp()
            info["Entropy"] = float(entropy)
            info["Approx KL"] = float(approx_kl(log_ratio))
            info["Clip Fraction"] = float(((ratio - 1).abs() > self.clip_eps).float().mean())
        info["Explained Variance"] = explained_variance(values, q_values)
        return info

    def _epochs(self, data: tuple[torch.Tensor, ...], minibatch_size: int) -> dict[str, float]:
        """Minibatch epochs over data = (obs, actions, old log-probs, advantages, returns), each (N, ...)."""
        n = len(data[0])
        perms = torch.argsort(torch.rand(self.ppo_epochs, n, device=ptu.device), dim=1)  # one per epoch
        losses: list[torch.Tensor] = []  # detached (actor, value) loss pairs; stacked once at the end
        epochs_done, stop = 0, False
        for perm in perms:
            if stop:
                break
            obs, acts, old_log_probs, advantages, returns = (x[perm] for x in data)
            epochs_done += 1
            for start in range(0, n, minibatch_size):
                mb = slice(start, start + minibatch_size)  # a view of the permuted batch
                log_ratio = self._minibatch_step(obs[mb], acts[mb], old_log_probs[mb], advantages[mb], returns[mb],
                                                 losses)
                stop = self.target_kl is not None and float(approx_kl(log_ratio)) > self.target_kl
                if stop:
                    break
        actor_loss, value_loss = torch.stack(losses).mean(0).tolist()
        return {"Actor Loss": actor_loss, "Baseline Loss": value_loss, "PPO Epochs": float(epochs_done)}

    def _minibatch_step(self, obs: torch.Tensor, acts: torch.Tensor, old_log_probs: torch.Tensor,
                        advantages: torch.Tensor, returns: torch.Tensor, losses: list[torch.Tensor]) -> torch.Tensor:
        """One Adam step on the joint loss; appends (actor loss, value loss) to ``losses``; returns log ρ, detached."""
        log_probs, entropy = self.policy.log_prob_and_entropy(obs, acts)
        log_ratio = log_probs - old_log_probs
        actor_loss = ppo_clip_loss(log_ratio, advantages, self.clip_eps)
        value_loss = (self.critic(obs) - returns).pow(2).mean()
        loss = actor_loss + self.vf_coef * value_loss
        if self.ent_coef:
            loss = loss - self.ent_coef * entropy
        ptu.optimizer_step(self.optimizer, loss, self.flat_grad, self.max_grad_norm)
        losses.append(torch.stack([actor_loss.detach(), value_loss.detach()]))
        return log_ratio.detach()
