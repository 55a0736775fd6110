"""Soft actor-critic with automatic entropy tuning (Haarnoja et al. 2018,
arXiv:1801.01290 and arXiv:1812.05905).

Networks (all ReLU MLPs, 256 x 256):
- actor: s -> (mu, log_std); u ~ N(mu, std), a = action_low + (tanh(u) + 1) / 2 * (action_high - action_low)
- twin critics Q_1, Q_2: (s, a) -> R, evaluated as one batched network (``TwinQ``)
- Polyak-averaged copies Q_targ_1, Q_targ_2 (target_tau = 0.005)

One ``update`` on a ``rollouts.Batch`` drawn from the replay buffer:
1. critic:  y = r + gamma (1 - terminated) (min_i Q_targ_i(s', a') - alpha log pi(a'|s')),  a' ~ pi(.|s')
            critic_loss = sum_i mean_batch (Q_i(s, a) - y)^2 / 2
   Only ``terminated`` stops the bootstrap; a time-limit truncation keeps y's
   bootstrap term from the real final observation (SB3, CleanRL SAC).
2. actor:   actor_loss = mean_batch (alpha log pi(a~|s) - min_i Q_i(s, a~)),  a~ ~ pi(.|s) reparameterized
3. alpha:   alpha_loss = -mean_batch log_alpha (log pi(a~|s) + target_entropy),  target_entropy = -|A|
4. targets: theta_targ <- (1 - tau) theta_targ + tau theta
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cs285.infrastructure import pytorch_util as ptu
from cs285.infrastructure.rollouts import Batch
from cs285.networks.critics import TwinQ

LOG_STD_MIN = -20.0  # clamp of the actor's log std, as in the SAC reference code
LOG_STD_MAX = 2.0
LOG_2 = math.log(2.0)
STATE = ("actor", "critic", "critic_target", "actor_optimizer", "critic_optimizer")  # state_dict's modules


def squashed_gaussian_log_prob(u: torch.Tensor, mu: torch.Tensor, log_std: torch.Tensor,
                               log_scale_sum: float = 0.0) -> torch.Tensor:
    """log density of a = bias + scale * tanh(u), u ~ N(mu, exp(log_std)^2), per row.

    Change of variables (SAC paper, appendix C):
        log pi(a|s) = sum_j [log N(u_j; mu_j, std_j) - log(1 - tanh(u_j)^2)] - sum_j log scale_j
    with the numerically stable identity log(1 - tanh(u)^2) = 2 (log 2 - u - softplus(-2u)).
    Shapes: u, mu, log_std (batch, ac_dim) -> (batch,).
    """
    z = (u - mu) * torch.exp(-log_std)
    log_normal = -0.5 * z.pow(2) - log_std - 0.5 * math.log(2 * math.pi)
    log_det_tanh = 2.0 * (LOG_2 - u - F.softplus(-2.0 * u))
    return (log_normal - log_det_tanh).sum(-1) - log_scale_sum


class SACAgent:
    def __init__(
        self,
        ob_dim: int,
        ac_dim: int,
        action_low: np.ndarray,
        action_high: np.ndarray,
        hidden_size: int = 256,
        n_layers: int = 2,
        discount: float = 0.99,
        target_tau: float = 0.005,
        learning_rate: float = 3e-4,
        init_alpha: float = 1.0,
        target_entropy: Optional[float] = None,
    ):
        """action_low, action_high: (ac_dim,) finite env action bounds.
        target_entropy defaults to -ac_dim (SAC v2 heuristic)."""
        self.ob_dim, self.ac_dim = ob_dim, ac_dim
        self.hidden_size, self.n_layers = hidden_size, n_layers
        self.discount, self.target_tau = discount, target_tau
        self.target_entropy = -float(ac_dim) if target_entropy is None else float(target_entropy)
        low = np.asarray(action_low, dtype=np.float32)
        high = np.asarray(action_high, dtype=np.float32)
        if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
            raise ValueError("SAC squashes actions with tanh and needs finite action bounds")
        self.action_low, self.action_high = low, high
        self.action_scale = ptu.from_numpy((high - low) / 2.0)  # (ac_dim,)
        self.action_bias = ptu.from_numpy((high + low) / 2.0)
        self.log_scale_sum = float(np.log((high - low) / 2.0).sum())

        self.actor = ptu.build_mlp(ob_dim, 2 * ac_dim, n_layers, hidden_size, "relu").to(ptu.device)
        self.critic = TwinQ(ob_dim + ac_dim, (hidden_size,) * n_layers).to(ptu.device)
        self.critic_target = TwinQ(ob_dim + ac_dim, (hidden_size,) * n_layers).to(ptu.device)
        self.critic_target.load_state_dict(self.critic.state_dict())
        self.critic_target.requires_grad_(False)
        self.log_alpha = torch.tensor(math.log(init_alpha), device=ptu.device, requires_grad=True)

        self.critic_optimizer = ptu.adam(self.critic.parameters(), learning_rate)
        # actor and log_alpha share one Adam (two independent parameter sets: the actor loss
        # sees alpha detached and the alpha loss sees log pi detached), saving one step per update
        self.actor_optimizer = ptu.adam([*self.actor.parameters(), self.log_alpha], learning_rate)
        self._critic_params = list(self.critic.parameters())
        self._target_params = list(self.critic_target.parameters())

    # ---- policy -------------------------------------------------------------------------
    def _dist_params(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, log_std = self.actor(obs).chunk(2, dim=-1)
        return mu, log_std.clamp(LOG_STD_MIN, LOG_STD_MAX)

    def _squash(self, u: torch.Tensor) -> torch.Tensor:
        return self.action_bias + self.action_scale * torch.tanh(u)

    def sample_action(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Reparameterized a ~ pi(.|s) and log pi(a|s): (batch, ob_dim) -> (batch, ac_dim), (batch,)."""
        mu, log_std = self._dist_params(obs)
        u = mu + torch.randn_like(mu) * log_std.exp()
        return self._squash(u), squashed_gaussian_log_prob(u, mu, log_std, self.log_scale_sum)

    @torch.no_grad()
    def act(self, obs: np.ndarray, rng: Optional[np.random.Generator]) -> np.ndarray:
        """The Actor protocol: obs (n, ob_dim) -> actions (n, ac_dim) = squash(mu + std · ε),
        ε ~ N(0, I) drawn from ``rng`` (so the collector's generator drives the noise); rng None: squash(mu)."""
        mu, log_std = self._dist_params(ptu.from_numpy(obs))
        if rng is not None:
            mu = mu + ptu.from_numpy(rng.standard_normal(mu.shape)) * log_std.exp()
        return ptu.to_numpy(self._squash(mu))

    @torch.no_grad()
    def get_action(self, obs: np.ndarray, deterministic: bool = False) -> np.ndarray:
        """Env action(s) for obs (ob_dim,) or (n, ob_dim); deterministic = squash(mu), else noise from torch."""
        x = np.asarray(obs)
        rows = x[None] if x.ndim == 1 else x  # (n, ob_dim)
        action = self.act(rows, None) if deterministic else ptu.to_numpy(self.sample_action(ptu.from_numpy(rows))[0])
        return action[0] if x.ndim == 1 else action

    @property
    def alpha(self) -> float:
        return float(self.log_alpha.detach().exp())

    # ---- learning -----------------------------------------------------------------------
    def critic_target_values(self, rewards: torch.Tensor, next_obs: torch.Tensor,
                             terminated: torch.Tensor) -> torch.Tensor:
        """y = r + gamma (1 - terminated) (min_i Q_targ_i(s', a') - alpha log pi(a'|s')), (batch,);
        terminated (batch,) bool or {0, 1}."""
        with torch.no_grad():
            next_actions, next_log_probs = self.sample_action(next_obs)
            next_q = self.critic_target(next_obs, next_actions).min(dim=0).values
            alpha = self.log_alpha.exp()
            return rewards + self.discount * (1.0 - terminated.float()) * (next_q - alpha * next_log_probs)

    def update(self, batch: Batch) -> dict[str, float]:
        """One gradient step on critics, actor and alpha, then the Polyak target update;
        ``batch.truncated`` is not needed: only ``terminated`` stops the bootstrap."""
        obs, actions, rewards, next_obs = (ptu.from_numpy(x) for x in batch[:4])

        # 1. critic: sum_i mean (Q_i(s, a) - y)^2 / 2
        y = self.critic_target_values(rewards, next_obs, ptu.from_numpy(batch.terminated, dtype=torch.bool))
        q = self.critic(obs, actions)  # (2, batch)
        critic_loss = 0.5 * (q - y).pow(2).mean(dim=1).sum()
        self.critic_optimizer.zero_grad(set_to_none=True)
        critic_loss.backward()
        self.critic_optimizer.step()

        # 2. actor: mean (alpha log pi(a~|s) - min_i Q_i(s, a~)), with the just-updated critics
        alpha = self.log_alpha.detach().exp()
        new_actions, log_probs = self.sample_action(obs)
        q_pi = self.critic(obs, new_actions, detach_params=True).min(dim=0).values
        actor_loss = (alpha * log_probs - q_pi).mean()

        # 3. alpha: -mean log_alpha (log pi + target_entropy); stepped together with the actor
        log_probs = log_probs.detach()
        alpha_loss = -self.log_alpha * (log_probs.mean() + self.target_entropy)
        self.actor_optimizer.zero_grad(set_to_none=True)
        (actor_loss + alpha_loss).backward()
        self.actor_optimizer.step()

        # 4. theta_targ <- theta_targ + tau (theta - theta_targ)
        with torch.no_grad():
            torch._foreach_lerp_(self._target_params, self._critic_params, self.target_tau)

        return {
            "critic_loss": critic_loss.item(),
            "actor_loss": actor_loss.item(),
            "alpha_loss": alpha_loss.item(),
            "alpha": float(alpha),
            "entropy": -log_probs.mean().item(),
            "q_mean": q.mean().item(),
        }

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
        """Write the deterministic policy a = squash(mu(s)) in the course's expert-pickle schema:
        identity obs normalizer (mean 0, meansq 1), ReLU hidden layers, linear mean output,
        tanh squash onto [action_low, action_high]; logstd is a placeholder (zeros)."""
        from cs285.policies.loaded_gaussian_policy import save_expert_policy

        linears = [m for m in self.actor if isinstance(m, nn.Linear)]
        # course schema: y = x @ W + b with W (in, out); keep only the mean half of the last layer
        hidden = [(ptu.to_numpy(m.weight).T.copy(), ptu.to_numpy(m.bias).copy()) for m in linears[:-1]]
        last = linears[-1]
        out = (ptu.to_numpy(last.weight[: self.ac_dim]).T.copy(), ptu.to_numpy(last.bias[: self.ac_dim]).copy())
        save_expert_policy(
            path,
            obs_mean=np.zeros(self.ob_dim, dtype=np.float32),
            obs_meansq=np.ones(self.ob_dim, dtype=np.float32),
            hidden=hidden,
            out=out,
            logstd=np.zeros(self.ac_dim, dtype=np.float32),
            nonlin="relu",
            squash=(self.action_low.copy(), self.action_high.copy()),
        )
