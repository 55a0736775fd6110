"""Soft actor-critic (Haarnoja et al. 2018, arXiv:1801.01290 and arXiv:1812.05905): the one SAC
of the project, serving ``scripts/train_expert.py`` (its defaults) and hw3's ``run_hw3_sac.py``
(the course's variants, chosen by keyword).

Networks (MLPs of ``n_layers`` x ``hidden_size``, ReLU for the experts, tanh in the course):
- actor: s -> (mu, std); u ~ N(mu, std^2), action p = tanh(u) (``use_tanh``; else p = u).
  std is state-dependent (``std_transform``: exp of a clamped log std, or the course's
  softplus(x) + 0.01) or a constant ``actor_fixed_std``.
- N critics Q_1..Q_N: (s, p) -> R, one batched network (``TwinQ``), and target copies Q'_i.

Action units. The env sees a = bias + scale * p, bias = (high + low) / 2, scale = (high - low) / 2.
- ``rescale_actions=False`` (the experts): critics and log-probs work on the env's actions a;
  log pi(a|s) includes -sum_j log scale_j.
- ``rescale_actions=True`` (hw3): critics and log-probs work on p in [-1, 1]^A, as after the
  course's ``RescaleAction(env, -1, 1)`` + ``ClipAction`` wrappers: the rescale happens in this
  agent (``act`` returns env units, ``update`` maps the buffer's env actions back to p), so the
  course's temperatures and entropies (log 2 for a uniform 1-D action) mean the same here.

One ``update`` on a ``rollouts.Batch`` drawn from the replay buffer:
1. critics, ``num_critic_updates`` times on the same batch:
     a' ~ pi(.|s'),  V' = backup(Q'_1..N(s', a')) - alpha log pi(a'|s')   (the alpha term if
     ``use_entropy_bonus`` and ``backup_entropy``), y = r + gamma (1 - terminated) V'
     backup: min (clipped double Q, Fujimoto et al. 2018), mean, or doubleq (critic A's target
     uses Q'_B and B's uses Q'_A; van Hasselt et al. 2016); see ``q_backup``.
     critic_loss = mean_{i, batch} (Q_i(s, a) - y)^2     (the course's MSELoss over (N, batch))
   Only ``terminated`` stops the bootstrap; a time-limit truncation bootstraps from the
   real final observation (SB3, CleanRL SAC).
2. actor, with Q~ = min_i or mean_i Q_i (``actor_q_reduction``) and alpha log pi from a
   reparameterized a~ = squash(mu + std eps):
     reparametrize: actor_loss = mean_batch (alpha log pi(a~|s) - Q~(s, a~))
     reinforce:     actor_loss = -mean_{k, batch} log pi(a_k|s) Q~(s, a_k) + mean_batch alpha log pi(a~|s),
                    a_k ~ pi(.|s), k = 1..num_actor_samples, no gradient through a_k (score
                    function; the course's estimator uses Q itself, no baseline)
3. alpha (when auto-tuned, ``temperature=None``): alpha_loss = -log_alpha (mean log pi(a~|s) + target_entropy)
4. targets: soft theta' <- theta' + tau (theta - theta') every update, or hard theta' <- theta
   when ``step % target_update_period == 0``.
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F

from cs285.infrastructure import pytorch_util as ptu
from cs285.infrastructure.rollouts import Batch
from cs285.networks.critics import TwinQ
from cs285.networks.policies import gaussian_log_prob, numpy_mlp

LOG_STD_MIN = -20.0  # clamp of the actor's log std, as in the SAC reference code
LOG_STD_MAX = 2.0
SOFTPLUS_STD_MIN = 1e-2  # the course's std = softplus(x) + 0.01 (hw3 networks/mlp_policy.py)
LOG_2 = math.log(2.0)
STATE = ("actor", "critic", "critic_target", "actor_optimizer", "critic_optimizer")  # state_dict's modules
ACTOR_GRADIENT_TYPES = ("reinforce", "reparametrize")
BACKUP_TYPES = ("doubleq", "min", "mean")
Q_REDUCTIONS = ("min", "mean")
STD_TRANSFORMS = ("exp_clamp", "softplus")


def squashed_gaussian_log_prob(u: torch.Tensor, mu: torch.Tensor, log_std: torch.Tensor,
                               log_scale_sum: float = 0.0) -> torch.Tensor:
    """log density of a = bias + scale * tanh(u), u ~ N(mu, exp(log_std)^2), per row.

    Change of variables (SAC paper, appendix C):
        log pi(a|s) = sum_j [log N(u_j; mu_j, std_j) - log(1 - tanh(u_j)^2)] - sum_j log scale_j
    (the first sum: networks.policies.gaussian_log_prob)
    with the numerically stable identity log(1 - tanh(u)^2) = 2 (log 2 - u - softplus(-2u)).
    Shapes: u (..., batch, ac_dim), mu, log_std broadcastable to it -> (..., batch).
    """
    return gaussian_log_prob(u, mu, log_std) - (2.0 * (LOG_2 - u - F.softplus(-2.0 * u))).sum(-1) - log_scale_sum


def q_backup(next_qs: torch.Tensor, backup_type: str) -> torch.Tensor:
    """The target critics' values Q'_i(s', a') (N, batch) -> the value each critic bootstraps from.

    min:     min_i Q'_i                      (batch,), shared by all critics (clipped double Q)
    mean:    (1/N) sum_i Q'_i                (batch,), shared (N = 1: Q'_1 itself)
    doubleq: row i is Q'_{1-i}               (2, batch): critic A bootstraps from Q'_B and vice versa
    """
    if backup_type == "min":
        return next_qs.min(dim=0).values
    if backup_type == "mean":
        return next_qs.mean(dim=0)
    if backup_type == "doubleq":
        if next_qs.shape[0] != 2:
            raise ValueError(f"doubleq needs 2 critics, got {next_qs.shape[0]}")
        return next_qs.flip(0)
    raise ValueError(f"unknown backup type {backup_type!r}; choose one of {BACKUP_TYPES}")


def _choice(name: str, value: str, options: tuple) -> str:
    if value not in options:
        raise ValueError(f"{name} must be one of {', '.join(options)}, got {value!r}")
    return value


class SACAgent:
    def __init__(self, ob_dim: int, ac_dim: int, action_low: np.ndarray, action_high: np.ndarray,
                 hidden_size: int = 256, n_layers: int = 2, discount: float = 0.99,
                 target_tau: Optional[float] = 0.005, learning_rate: float = 3e-4, init_alpha: float = 1.0,
                 target_entropy: Optional[float] = None, *, activation: str = "relu",
                 actor_learning_rate: Optional[float] = None, critic_learning_rate: Optional[float] = None,
                 target_update_period: Optional[int] = None, temperature: Optional[float] = None,
                 use_entropy_bonus: bool = True, backup_entropy: bool = True, num_critic_networks: int = 2,
                 target_critic_backup_type: str = "min", actor_q_reduction: str = "min",
                 actor_gradient_type: str = "reparametrize", num_actor_samples: int = 1, num_critic_updates: int = 1,
                 std_transform: str = "exp_clamp", actor_fixed_std: Optional[float] = None, use_tanh: bool = True,
                 rescale_actions: bool = False):
        """The defaults are train_expert's SAC: ReLU 256 x 2, twin critics with the min backup and a
        min actor Q, reparameterized actor, alpha auto-tuned from ``init_alpha`` towards
        ``target_entropy`` (default -ac_dim), soft targets with ``target_tau``, one ``learning_rate``.

        action_low, action_high: (ac_dim,) finite env action bounds.
        actor/critic_learning_rate: override ``learning_rate`` for that optimizer (the auto-tuned
            alpha steps with the actor).
        target_update_period: hard target copies every that many steps instead of Polyak
            averaging; then ``target_tau`` must be None.
        temperature: a fixed alpha (the course), None: auto-tuned. ``use_entropy_bonus=False``: alpha = 0.
        backup_entropy: the -alpha log pi(a'|s') term in the critic target.
        num_critic_networks (N >= 1), target_critic_backup_type (``q_backup``), actor_q_reduction
            (min or mean over the N critics in the actor loss), actor_gradient_type, num_actor_samples
            (REINFORCE's samples per state), num_critic_updates (per ``update``): see the module docstring.
        std_transform: 'exp_clamp' (log std clamped to [-20, 2]) or 'softplus' (the course);
            actor_fixed_std: a constant std instead (the actor then outputs the mean only).
        use_tanh: squash u into [-1, 1]; without it p = u is a plain Gaussian and ``act`` clips it.
        rescale_actions: critics and log-probs in [-1, 1] units (module docstring).
        """
        self.ob_dim, self.ac_dim = ob_dim, ac_dim
        self.hidden_size, self.n_layers, self.activation = hidden_size, n_layers, activation
        self.discount = discount
        if (target_tau is None) == (target_update_period is None):
            raise ValueError("give exactly one of target_tau (soft target updates) and target_update_period (hard)")
        self.target_tau, self.target_update_period = target_tau, target_update_period
        self.target_entropy = -float(ac_dim) if target_entropy is None else float(target_entropy)
        self.num_critic_networks, self.num_critic_updates = num_critic_networks, num_critic_updates
        self.backup_type = _choice("target_critic_backup_type", target_critic_backup_type, BACKUP_TYPES)
        if self.backup_type == "doubleq" and num_critic_networks != 2:
            raise ValueError(f"target_critic_backup_type doubleq needs num_critic_networks 2, got {num_critic_networks}")
        self.actor_q_reduction = _choice("actor_q_reduction", actor_q_reduction, Q_REDUCTIONS)
        self.actor_gradient_type = _choice("actor_gradient_type", actor_gradient_type, ACTOR_GRADIENT_TYPES)
        self.std_transform = _choice("std_transform", std_transform, STD_TRANSFORMS)
        if num_actor_samples < 1 or num_critic_updates < 1:
            raise ValueError("num_actor_samples and num_critic_updates must be >= 1")
        if num_actor_samples != 1 and actor_gradient_type == "reparametrize":
            raise ValueError("num_actor_samples is REINFORCE's; the reparameterized gradient uses one sample per state")
        self.num_actor_samples = num_actor_samples
        self.actor_fixed_std, self.use_tanh, self.rescale_actions = actor_fixed_std, use_tanh, rescale_actions
        if actor_fixed_std is not None and actor_fixed_std <= 0:
            raise ValueError(f"actor_fixed_std must be positive, got {actor_fixed_std}")
        self.use_entropy_bonus = use_entropy_bonus and temperature != 0.0
        self.backup_entropy = backup_entropy
        self.tune_alpha = self.use_entropy_bonus and temperature is None

        low = np.asarray(action_low, dtype=np.float32)
        high = np.asarray(action_high, dtype=np.float32)
        if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
            raise ValueError("SAC squashes actions with tanh and needs finite action bounds")
        self.action_low, self.action_high = low, high
        self.action_scale = ptu.from_numpy((high - low) / 2.0)  # (ac_dim,)
        self.action_bias = ptu.from_numpy((high + low) / 2.0)
        self._inv_action_scale = 1.0 / self.action_scale
        # the units critics and log-probs use: [-1, 1] (rescaled) or the env's [low, high]
        p_low, p_high = (-np.ones_like(low), np.ones_like(high)) if rescale_actions else (low, high)
        self._p_low, self._p_high = ptu.from_numpy(p_low), ptu.from_numpy(p_high)
        self._p_log_scale_sum = 0.0 if rescale_actions else float(np.log((high - low) / 2.0).sum())

        out_dim = ac_dim if actor_fixed_std is not None else 2 * ac_dim
        self.actor = ptu.build_mlp(ob_dim, out_dim, n_layers, hidden_size, activation).to(ptu.device)
        hidden = (hidden_size,) * n_layers
        self.critic = TwinQ(ob_dim + ac_dim, hidden, num_critic_networks, activation).to(ptu.device)
        self.critic_target = TwinQ(ob_dim + ac_dim, hidden, num_critic_networks, activation).to(ptu.device)
        self.critic_target.requires_grad_(False).load_state_dict(self.critic.state_dict())
        alpha0 = init_alpha if temperature is None or temperature == 0.0 else temperature
        self.log_alpha = torch.tensor(math.log(alpha0), device=ptu.device, requires_grad=self.tune_alpha)

        actor_lr = learning_rate if actor_learning_rate is None else actor_learning_rate
        critic_lr = learning_rate if critic_learning_rate is None else critic_learning_rate
        self.critic_optimizer = ptu.adam(self.critic.parameters(), critic_lr)
        # actor and log_alpha share one Adam (two independent parameter sets: the actor loss
        # sees alpha detached and the alpha loss sees log pi detached), saving one step per update
        actor_params = [*self.actor.parameters(), *([self.log_alpha] if self.tune_alpha else [])]
        self.actor_optimizer = ptu.adam(actor_params, actor_lr)
        self._critic_params = list(self.critic.parameters())
        self._target_params = list(self.critic_target.parameters())

    # ---- policy -------------------------------------------------------------------------
    def _dist_params(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, log_std) of u, each (batch, ac_dim)."""
        out = self.actor(obs)
        if self.actor_fixed_std is not None:
            return out, torch.full_like(out, math.log(self.actor_fixed_std))
        mu, raw = out.chunk(2, dim=-1)
        if self.std_transform == "softplus":
            return mu, torch.log(F.softplus(raw) + SOFTPLUS_STD_MIN)
        return mu, raw.clamp(LOG_STD_MIN, LOG_STD_MAX)

    def _policy_action(self, u: torch.Tensor) -> torch.Tensor:
        """u -> the action in the critics' units: tanh(u) (rescaled), bias + scale tanh(u), or u without tanh."""
        if not self.use_tanh:
            return u
        return torch.tanh(u) if self.rescale_actions else self.action_bias + self.action_scale * torch.tanh(u)

    def _log_prob(self, u: torch.Tensor, mu: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
        """log pi of the action _policy_action(u), in the critics' units: (..., batch, ac_dim) -> (..., batch)."""
        if self.use_tanh:
            return squashed_gaussian_log_prob(u, mu, log_std, self._p_log_scale_sum)
        return gaussian_log_prob(u, mu, log_std)

    def _env_action(self, u: torch.Tensor) -> torch.Tensor:
        """u -> the action the env gets: bias + scale tanh(u), or the clipped Gaussian without tanh."""
        if self.use_tanh:
            return self.action_bias + self.action_scale * torch.tanh(u)
        p = torch.clamp(u, self._p_low, self._p_high)  # the course's ClipAction
        return self.action_bias + self.action_scale * p if self.rescale_actions else p

    def _from_env_action(self, actions: torch.Tensor) -> torch.Tensor:
        """Env actions (the replay buffer's) -> the critics' units."""
        return (actions - self.action_bias) * self._inv_action_scale if self.rescale_actions else actions

    def sample_action(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Reparameterized p ~ pi(.|s) in the critics' units and log pi(p|s):
        (batch, ob_dim) -> (batch, ac_dim), (batch,)."""
        mu, log_std = self._dist_params(obs)
        u = mu + torch.randn_like(mu) * log_std.exp()
        return self._policy_action(u), self._log_prob(u, mu, log_std)

    @torch.no_grad()
    def act(self, obs: np.ndarray, rng: Optional[np.random.Generator]) -> np.ndarray:
        """The Actor protocol: obs (n, ob_dim) -> env actions (n, ac_dim) from u = mu + std · ε,
        ε ~ N(0, I) drawn from ``rng`` (so the collector's generator drives the noise); rng None: u = mu."""
        mu, log_std = self._dist_params(ptu.from_numpy(obs))
        if rng is not None:
            mu = mu + ptu.from_numpy(rng.standard_normal(mu.shape)) * log_std.exp()
        return ptu.to_numpy(self._env_action(mu))

    @torch.no_grad()
    def get_action(self, obs: np.ndarray, deterministic: bool = False) -> np.ndarray:
        """Env action(s) for obs (ob_dim,) or (n, ob_dim); deterministic: u = mu, else noise from torch."""
        x = np.asarray(obs)
        rows = ptu.from_numpy(x[None] if x.ndim == 1 else x)  # (n, ob_dim)
        mu, log_std = self._dist_params(rows)
        u = mu if deterministic else mu + torch.randn_like(mu) * log_std.exp()
        action = ptu.to_numpy(self._env_action(u))
        return action[0] if x.ndim == 1 else action

    def _alpha(self) -> torch.Tensor:
        """The entropy temperature, detached: exp(log_alpha), or 0 without the entropy bonus."""
        return self.log_alpha.detach().exp() if self.use_entropy_bonus else torch.zeros((), device=ptu.device)

    # ---- learning -----------------------------------------------------------------------
    def critic_target_values(self, rewards: torch.Tensor, next_obs: torch.Tensor,
                             terminated: torch.Tensor) -> torch.Tensor:
        """y = r + gamma (1 - terminated) (q_backup(Q'(s', a')) - alpha log pi(a'|s')), a' ~ pi(.|s'):
        (batch,) for the shared backups (min, mean), (2, batch) for doubleq; terminated (batch,) bool or {0, 1}.
        The alpha term only with ``use_entropy_bonus`` and ``backup_entropy``."""
        with torch.no_grad():
            next_actions, next_log_probs = self.sample_action(next_obs)
            next_v = q_backup(self.critic_target(next_obs, next_actions), self.backup_type)
            if self.use_entropy_bonus and self.backup_entropy:
                next_v = next_v - self._alpha() * next_log_probs
            return rewards + self.discount * (1.0 - terminated.float()) * next_v

    def _actor_q(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """min_i or mean_i Q_i(s, a) with gradients to the actions only: (batch, ...) -> (batch,)."""
        q = self.critic(obs, actions, detach_params=True)  # (N, batch)
        return q.min(dim=0).values if self.actor_q_reduction == "min" else q.mean(dim=0)

    def actor_loss(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(actor_loss, log pi(a~|s) (batch,) of the reparameterized sample); the module docstring's step 2."""
        alpha = self._alpha()
        mu, log_std = self._dist_params(obs)
        u = mu + torch.randn_like(mu) * log_std.exp()  # a~, reparameterized
        log_probs = self._log_prob(u, mu, log_std)
        if self.actor_gradient_type == "reparametrize":
            return (alpha * log_probs - self._actor_q(obs, self._policy_action(u))).mean(), log_probs
        k, (batch, ac_dim) = self.num_actor_samples, mu.shape
        with torch.no_grad():
            u_k = mu + torch.randn(k, batch, ac_dim, device=mu.device) * log_std.exp()  # (k, batch, ac_dim)
            q_k = self._actor_q(obs.repeat(k, 1), self._policy_action(u_k).reshape(k * batch, ac_dim)).view(k, batch)
        score = -(self._log_prob(u_k, mu, log_std) * q_k).mean()  # grad = -E[grad log pi(a_k|s) Q~(s, a_k)]
        return score + (alpha * log_probs).mean(), log_probs

    def update(self, batch: Batch, step: int) -> dict[str, float]:
        """``num_critic_updates`` critic steps, one actor (and alpha) step, then the target update.
        step: the env step, the hard-update clock (unused with soft updates).
        ``batch.truncated`` is not needed: only ``terminated`` stops the bootstrap."""
        obs, actions, rewards, next_obs = (ptu.from_numpy(x) for x in batch[:4])
        actions = self._from_env_action(actions)
        terminated = ptu.from_numpy(batch.terminated, dtype=torch.bool)

        # 1. critics: mean_{i, batch} (Q_i(s, a) - y)^2
        critic_sums = torch.zeros(3, device=ptu.device)
        for _ in range(self.num_critic_updates):
            y = self.critic_target_values(rewards, next_obs, terminated)
            q = self.critic(obs, actions)  # (N, batch)
            critic_loss = (q - y).pow(2).mean()
            ptu.optimizer_step(self.critic_optimizer, critic_loss)
            critic_sums += torch.stack([critic_loss.detach(), q.detach().mean(), y.mean()])

        # 2. actor, with the just-updated critics; 3. alpha, stepped together with the actor
        actor_loss, log_probs = self.actor_loss(obs)
        log_probs = log_probs.detach()
        loss = actor_loss
        if self.tune_alpha:
            alpha_loss = -self.log_alpha * (log_probs.mean() + self.target_entropy)
            loss = loss + alpha_loss
        ptu.optimizer_step(self.actor_optimizer, loss)

        # 4. soft: theta' <- theta' + tau (theta - theta'); hard: theta' <- theta every target_update_period
        with torch.no_grad():
            if self.target_update_period is None:
                torch._foreach_lerp_(self._target_params, self._critic_params, self.target_tau)
            elif step % self.target_update_period == 0:
                for target, source in zip(self._target_params, self._critic_params):
                    target.copy_(source)

        critic_loss, q_values, target_values = (critic_sums / self.num_critic_updates).tolist()
        info = {
            "critic_loss": critic_loss,
            "q_values": q_values,
            "target_values": target_values,
            "actor_loss": actor_loss.item(),
            "entropy": -log_probs.mean().item(),
            "actor_lr": self.actor_optimizer.param_groups[0]["lr"],
            "critic_lr": self.critic_optimizer.param_groups[0]["lr"],
        }
        if self.tune_alpha:
            info.update(temperature=float(self._alpha()), alpha_loss=alpha_loss.item())
        return info

    # ---- checkpoints and export ---------------------------------------------------------
    def state_dict(self) -> dict:
        """The networks', the optimizers' state dicts and log_alpha, under their attribute names."""
        return {"log_alpha": self.log_alpha.detach().clone(), **{k: getattr(self, k).state_dict() for k in STATE}}

    def load_state_dict(self, state: dict) -> None:
        for k in STATE:
            getattr(self, k).load_state_dict(state[k])
        with torch.no_grad():
            self.log_alpha.copy_(state["log_alpha"])

    def export_expert(self, path: str) -> None:
        """Write the deterministic policy a = bias + scale tanh(mu(s)) in the course's expert-pickle
        schema: identity obs normalizer (mean 0, meansq 1), the actor's hidden layers, linear mean
        output, tanh squash onto [action_low, action_high]; logstd is a placeholder (zeros)."""
        from cs285.policies.loaded_gaussian_policy import save_expert_policy

        if not self.use_tanh:
            raise ValueError("export_expert writes a tanh-squashed policy; this agent has use_tanh=False")
        if self.activation not in ("relu", "tanh"):
            raise ValueError(f"the expert schema has no {self.activation!r} layers")
        *hidden, (W, b) = numpy_mlp(self.actor).affine_layers  # the course's y = x @ W + b, W (in, out)
        out = (W[:, : self.ac_dim], b[: self.ac_dim])  # the mean half of the output layer
        save_expert_policy(path, obs_mean=np.zeros(self.ob_dim), obs_meansq=np.ones(self.ob_dim), hidden=hidden,
                           out=out, logstd=np.zeros(self.ac_dim), nonlin=self.activation,
                           squash=(self.action_low, self.action_high))
