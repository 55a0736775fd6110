"""Importance-sampled policy gradient: several gradient steps on one on-policy batch (``--pg_method is``).

The batch was drawn by π_old, the policy before this update. After the first
step θ ≠ θ_old, so each later step reweights every sample by
ρ = π_θ(a|s) / π_old(a|s) (pg_losses.importance_sampled_pg_loss):

    for k in 1..K:  θ ← Adam step on −mean_i(ρ_i · A_i),  ρ_i = exp(log π_θ(a_i|s_i) − log π_old(a_i|s_i))

With K = 1 this is vanilla PG exactly (ρ = 1 at θ_old). Advantages and the
critic are PGAgent's. ``is_clip`` = c truncates each weight to [0, c].
"""
from __future__ import annotations

from typing import Optional

import torch

from cs285.agents.pg_agent import PGAgent
from cs285.agents.pg_losses import approx_kl, importance_sampled_pg_loss
from cs285.infrastructure import pytorch_util as ptu


class ISPGAgent(PGAgent):
    """PGAgent with ``n_policy_steps`` importance-weighted Adam steps per batch.

    n_policy_steps: K ≥ 1 gradient steps on each batch.
    is_clip: c > 0 truncates ρ to [0, c] (None: no truncation).
    Other arguments: PGAgent's.
    """

    def __init__(self, *args, n_policy_steps: int = 1, is_clip: Optional[float] = None, **kwargs):
        super().__init__(*args, **kwargs)
        if n_policy_steps < 1:
            raise ValueError(f"n_policy_steps must be at least 1, got {n_policy_steps}")
        if is_clip is not None and is_clip <= 0:
            raise ValueError(f"is_clip must be > 0, got {is_clip}")
        self.n_policy_steps = n_policy_steps
        self.is_clip = is_clip

    def _actor_step(self, obs: torch.Tensor, actions: torch.Tensor, advantages: torch.Tensor) -> dict[str, float]:
        """K actor steps; logs the first step's loss (the on-policy one) and ρ at the last.

        ``Approx KL``: pg_losses.approx_kl, an estimate of KL(π_old ‖ π_θ) after the K steps.
        """
        with torch.no_grad():
            old_log_probs = self.policy.distribution(obs).log_prob(actions)  # (N,)
        first_loss = None
        for _ in range(self.n_policy_steps):
            log_probs = self.policy.distribution(obs).log_prob(actions)
            loss = importance_sampled_pg_loss(log_probs, old_log_probs, advantages, self.is_clip)
            ptu.optimizer_step(self.actor_optimizer, loss)
            first_loss = float(loss.detach()) if first_loss is None else first_loss
        with torch.no_grad():
            log_ratio = self.policy.distribution(obs).log_prob(actions) - old_log_probs
            ratio = log_ratio.exp()
            info = {
                "Actor Loss": first_loss,
                "IS Weight Mean": float(ratio.mean()),
                "IS Weight Max": float(ratio.max()),
                "Approx KL": float(approx_kl(log_ratio)),
            }
            if self.is_clip is not None:
                info["IS Clip Fraction"] = float((ratio > self.is_clip).float().mean())
        return info
