"""Natural policy gradient and TRPO (``--pg_method npg`` / ``trpo``): one step rule apart.

Both solve for the natural gradient direction on each batch (Kakade 2001,
"A Natural Policy Gradient"; Schulman et al. 2015, "Trust Region Policy
Optimization", section 6 and appendix C):

    L(θ)  = mean_i( ρ_i A_i ),  ρ_i = π_θ(a_i|s_i) / π_old(a_i|s_i)      surrogate, L(θ_old) = mean(A)
    g     = ∇_θ L |_{θ_old} = mean_i( ∇ log π(a_i|s_i) A_i )
    x     ≈ (F + λI)⁻¹ g        conjugate gradient, ``cg_iters`` Fisher-vector products, λ = cg_damping

and then differ only in the step:

    NPG:   θ ← θ_old + α x                         α = npg_step_size, fixed
    TRPO:  β = √(2ε / xᵀ(F + λI)x),  θ ← θ_old + coeff^j β x  for the first j with
           L(θ) − L(θ_old) > 0 and mean KL(π_old ‖ π_θ) ≤ ε            ε = max_kl

β makes the quadratic model ½ sᵀFs of the KL equal ε at the full step
s = βx; the line search then checks the real KL and the real surrogate (the
step is rejected, θ = θ_old, if no j passes). For small steps the KL of an
NPG step is ½ α² xᵀFx. Advantages and the critic are PGAgent's.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import distributions

from cs285.agents.pg_agent import PGAgent
from cs285.infrastructure import pytorch_util as ptu
from cs285.infrastructure.optim_util import (backtracking_line_search, conjugate_gradient, fisher_vector_product_fn,
                                             flat_grad, load_params_vector, params_vector)
from cs285.networks.policies import MLPPolicy


class NaturalStep(NamedTuple):
    direction: torch.Tensor  # x ≈ (F + λI)⁻¹ g, (#params,)
    step_size: float  # the multiple of x applied: α (NPG), coeff^j β (TRPO), 0 if rejected
    kl: float  # measured mean KL(π_old ‖ π_new)
    cg_residual: float  # ‖g − (F + λI) x‖
    line_search_steps: int  # backtracks taken (TRPO), 0 for NPG
    surrogate_improvement: float  # L(θ_new) − L(θ_old)
    surrogate: float  # L(θ_new)


def natural_gradient_step(policy: MLPPolicy, obs: torch.Tensor, actions: torch.Tensor, advantages: torch.Tensor, *,
                          trust_region: bool, max_kl: float = 0.01, npg_step_size: float = 0.5, cg_iters: int = 10,
                          cg_damping: float = 0.1, backtrack_coeff: float = 0.8,
                          backtrack_iters: int = 10) -> NaturalStep:
    """One NPG (trust_region=False) or TRPO (True) step of ``policy``'s parameters, in place.

    obs: (N, ob_dim) normalized; actions: (N,) long or (N, ac_dim); advantages: (N,).
    """
    params = list(policy.parameters())
    with torch.no_grad():
        old_dist = policy.distribution(obs)  # constants: π_old
        old_log_probs = old_dist.log_prob(actions)  # (N,)
    old_surrogate = float(advantages.mean())  # L(θ_old): ρ = 1

    def surrogate(dist: distributions.Distribution) -> torch.Tensor:
        return (torch.exp(dist.log_prob(actions) - old_log_probs) * advantages).mean()

    dist = policy.distribution(obs)
    g = flat_grad(surrogate(dist), params, retain_graph=True)  # (#params,)
    mean_kl = distributions.kl_divergence(old_dist, dist).mean()
    fvp = fisher_vector_product_fn(mean_kl, params, cg_damping)
    x, residual = conjugate_gradient(fvp, g, cg_iters)
    theta_old = params_vector(params)

    @torch.no_grad()
    def evaluate(theta: torch.Tensor) -> tuple[float, float]:
        load_params_vector(params, theta)
        new_dist = policy.distribution(obs)
        kl = float(distributions.kl_divergence(old_dist, new_dist).mean())
        return float(surrogate(new_dist)) - old_surrogate, kl

    if trust_region:
        x_fx = float(x @ fvp(x))
        beta = math.sqrt(2.0 * max_kl / x_fx) if x_fx > 0 else 0.0
        result = backtracking_line_search(evaluate, theta_old, beta * x, max_kl, backtrack_coeff, backtrack_iters)
        load_params_vector(params, result.params)
        step_size, backtracks = beta * result.step_fraction, result.backtracks
        improvement, kl = result.improvement, result.kl
    else:
        step_size, backtracks = npg_step_size, 0
        improvement, kl = evaluate(theta_old + npg_step_size * x)
    return NaturalStep(x.detach(), step_size, kl, residual, backtracks, improvement, old_surrogate + improvement)


class NaturalPGAgent(PGAgent):
    """PGAgent whose policy moves by ``natural_gradient_step`` instead of Adam.

    trust_region: False for NPG (fixed step ``npg_step_size``), True for TRPO (``max_kl`` + line search).
    cg_iters, cg_damping: conjugate-gradient products and the damping λ of F + λI.
    max_kl: ε, the TRPO bound on the mean KL per step.
    npg_step_size: α of NPG.
    backtrack_coeff, backtrack_iters: TRPO's line-search shrink factor and number of tries.
    Other arguments: PGAgent's. The policy has no Adam: the critic's Adam is the only optimizer.
    """

    IGNORED_FLAGS = {"learning_rate": "the step is set by --npg_step_size (NPG) or --max_kl (TRPO)"}

    def __init__(self, *args, trust_region: bool, cg_iters: int = 10, cg_damping: float = 0.1,
                 max_kl: float = 0.01, npg_step_size: float = 0.5, backtrack_coeff: float = 0.8,
                 backtrack_iters: int = 10, **kwargs):
        super().__init__(*args, **kwargs)
        if cg_iters < 1 or backtrack_iters < 1:
            raise ValueError("cg_iters and backtrack_iters must be at least 1")
        if cg_damping < 0 or max_kl <= 0 or npg_step_size <= 0 or not 0 < backtrack_coeff < 1:
            raise ValueError("need cg_damping >= 0, max_kl > 0, npg_step_size > 0 and 0 < backtrack_coeff < 1")
        self.step_kwargs = dict(trust_region=trust_region, max_kl=max_kl, npg_step_size=npg_step_size,
                                cg_iters=cg_iters, cg_damping=cg_damping, backtrack_coeff=backtrack_coeff,
                                backtrack_iters=backtrack_iters)

    def _make_optimizers(self, learning_rate: float, baseline_learning_rate: float) -> None:
        if self.critic is not None:
            self.critic_optimizer = ptu.adam(self.critic.parameters(), baseline_learning_rate)

    def load_state_dict(self, state: dict) -> None:
        """Also loads older checkpoints, whose ``optimizers`` began with a policy Adam this class never stepped."""
        extra = len(state["optimizers"]) - len(self.optimizers())
        super().load_state_dict({**state, "optimizers": state["optimizers"][1:]} if extra == 1 else state)

    def _actor_step(self, obs: torch.Tensor, actions: torch.Tensor, advantages: torch.Tensor) -> dict[str, float]:
        """One natural step; ``Actor Loss`` is −L(θ_new), the surrogate loss after the step."""
        step = natural_gradient_step(self.policy, obs, actions, advantages, **self.step_kwargs)
        return {
            "Actor Loss": -step.surrogate,
            "KL": step.kl,
            "CG Residual": step.cg_residual,
            "Line Search Steps": float(step.line_search_steps),
            "Surrogate Improvement": step.surrogate_improvement,
            "Step Size": step.step_size,
        }
