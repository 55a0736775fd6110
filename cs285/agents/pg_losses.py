"""Policy-gradient losses as pure torch functions (no modules, no optimizers)."""
from __future__ import annotations

from torch import Tensor


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
    if log_probs.shape != advantages.shape:
        raise ValueError(
            f"log_probs {tuple(log_probs.shape)} and advantages {tuple(advantages.shape)} "
            "must have the same shape"
        )
    return -(log_probs * advantages.detach()).mean()
