"""Policy-gradient losses as pure torch functions (no modules, no optimizers)."""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor


def _check_same_shape(**tensors: Tensor) -> None:
    if len({t.shape for t in tensors.values()}) > 1:
        shapes = ", ".join(f"{name} {tuple(t.shape)}" for name, t in tensors.items())
        raise ValueError(f"{shapes} must have the same shape")


def pg_surrogate_loss(log_probs: Tensor, advantages: Tensor) -> Tensor:
    """REINFORCE surrogate whose negative gradient is the policy-gradient estimate.

        loss = −mean_i( log_probs[i] · advantages[i] )
        −∇_θ loss = mean_i( ∇_θ log π_θ(a_i | s_i) · A_i )

    (Williams 1992; CS285 lecture 5). ``advantages`` are constants: they are
    detached here, so a baseline computed from the same network cannot leak
    gradient into the policy. Because the mean runs over all N steps of the
    batch, the gradient is the per-trajectory estimate divided by the average
    episode length, a constant factor absorbed by the learning rate.

    log_probs: (N,) log π_θ(a_i | s_i), differentiable.
    advantages: (N,) reward-to-go, return, or advantage for each step.
    Returns a scalar tensor.
    """
    _check_same_shape(log_probs=log_probs, advantages=advantages)
    return -(log_probs * advantages.detach()).mean()


def importance_sampled_pg_loss(log_probs: Tensor, old_log_probs: Tensor, advantages: Tensor,
                               is_clip: Optional[float] = None) -> Tensor:
    """Off-policy (importance-sampled) policy-gradient surrogate for samples drawn from π_old.

        ρ_i  = π_θ(a_i|s_i) / π_old(a_i|s_i) = exp(log_probs[i] − old_log_probs[i])
        loss = −mean_i( ρ_i · advantages[i] )
        −∇_θ loss = mean_i( ρ_i ∇_θ log π_θ(a_i|s_i) · A_i )

    an unbiased estimate of ∇J(θ) under actions from π_old (CS285 lecture 5,
    "off-policy policy gradient"; the per-step ratio drops the ratios of the
    earlier steps, the usual first-order approximation also used by TRPO/PPO).
    At θ = θ_old, ρ = 1 and this is exactly ``pg_surrogate_loss``'s gradient.

    ``is_clip`` = c truncates the weight to [0, c] (truncated importance
    sampling, Ionides 2008; the c̄ of ACER/Retrace): each step's gradient is
    weighted by min(ρ_i, c) instead of ρ_i, trading a bias for bounded variance.
    A truncated step keeps its gradient (unlike PPO's clip, which zeroes it):

        loss = −mean_i( min(ρ_i, c) · A_i ),  −∇_θ loss = mean_i( min(ρ_i, c) ∇ log π_θ(a_i|s_i) A_i )

    log_probs: (N,) differentiable; old_log_probs, advantages: (N,) constants. Returns a scalar.
    """
    _check_same_shape(log_probs=log_probs, old_log_probs=old_log_probs, advantages=advantages)
    ratio = torch.exp(log_probs - old_log_probs.detach())
    if is_clip is not None:
        # value min(ρ, c), gradient min(ρ, c)·∇log π: ρ times a constant factor min(ρ, c)/ρ
        ratio = ratio * (ratio.detach().clamp(max=is_clip) / ratio.detach())
    return -(ratio * advantages.detach()).mean()


def approx_kl(log_ratio: Tensor) -> Tensor:
    """Estimate of KL(π_old ‖ π_θ) from actions drawn by π_old (Schulman 2020, "Approximating KL
    divergence", the estimator k3):

        ρ_i = exp(log_ratio[i]),   KL ≈ mean_i( (ρ_i − 1) − log ρ_i )

    unbiased, and never negative, since (ρ − 1) − log ρ ≥ 0 for every ρ > 0 (0 at ρ = 1).
    log_ratio: (N,) log π_θ(a_i|s_i) − log π_old(a_i|s_i). Returns a scalar.
    """
    return ((log_ratio.exp() - 1) - log_ratio).mean()


def ppo_clip_loss(log_ratio: Tensor, advantages: Tensor, clip_eps: float) -> Tensor:
    """PPO's clipped surrogate (Schulman et al. 2017, "Proximal Policy Optimization Algorithms", eq. 7).

        ρ_i  = exp(log_ratio[i]) = π_θ(a_i|s_i) / π_old(a_i|s_i)
        loss = −mean_i min( ρ_i A_i, clip(ρ_i, 1 − ε, 1 + ε) A_i )

    At ρ = 1 the loss is −mean(A). The min picks the clipped term, whose
    gradient is zero, exactly when the step would already have moved past the
    trust region in the advantage's direction: A_i > 0 and ρ_i > 1 + ε, or
    A_i < 0 and ρ_i < 1 − ε. Elsewhere the gradient is that of −ρ_i A_i.

    log_ratio: (N,) log π_θ − log π_old, differentiable. advantages: (N,) constants.
    clip_eps: ε > 0. Returns a scalar.
    """
    _check_same_shape(log_ratio=log_ratio, advantages=advantages)
    ratio = torch.exp(log_ratio)
    advantages = advantages.detach()
    clipped = torch.clamp(ratio, 1.0 - clip_eps, 1.0 + clip_eps)
    return -torch.minimum(ratio * advantages, clipped * advantages).mean()
