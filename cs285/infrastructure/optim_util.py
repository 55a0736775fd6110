"""Second-order helpers for natural policy gradient and TRPO: pure functions, no modules of their own.

    flat_grad                 ∂y/∂θ of a scalar y as one flat vector over a list of parameters
    fisher_vector_product     F v by double back-prop through the mean KL, never forming F
    conjugate_gradient        x ≈ A⁻¹ b from products A v only
    backtracking_line_search  shrink a step until it passes an acceptance test

The Fisher information of the policy at θ_old is the Hessian of the mean KL
at θ = θ_old (Kakade 2001; Schulman et al. 2015, "Trust Region Policy
Optimization", appendix C):

    F = E_s E_{a~π}[∇log π(a|s) ∇log π(a|s)ᵀ] = ∇²_θ mean_s KL(π_old(·|s) ‖ π_θ(·|s)) at θ = θ_old

so F v = ∇_θ ( (∇_θ KL)ᵀ v ): two backward passes, O(#params) memory.
"""
from __future__ import annotations

from typing import Callable, Iterable, NamedTuple, Optional, Sequence

import torch
from torch import Tensor


def flat_grad(output: Tensor, params: Sequence[Tensor], retain_graph: Optional[bool] = None,
              create_graph: bool = False) -> Tensor:
    """∂output/∂params concatenated into one vector (#params,); parameters output does not use get zeros.

    As in ``torch.autograd.grad``, the graph is kept when ``create_graph`` (the
    double back-prop of a Fisher-vector product needs it) unless ``retain_graph`` says otherwise.
    """
    params = list(params)
    grads = torch.autograd.grad(output, params, retain_graph=retain_graph, create_graph=create_graph,
                                allow_unused=True)
    return torch.cat([(torch.zeros_like(p) if g is None else g).reshape(-1) for p, g in zip(params, grads)])


def fisher_vector_product_fn(mean_kl: Tensor, params: Sequence[Tensor], damping: float = 0.0
                             ) -> Callable[[Tensor], Tensor]:
    """v ↦ (F + damping·I) v with F = ∇²_θ mean_kl, for many v at the price of one first derivative.

    mean_kl: scalar mean_s KL(π_old(·|s) ‖ π_θ(·|s)) with π_old detached, built
    from ``params``. Its gradient g_kl = ∇_θ KL is taken once with a graph;
    each product is one more backward pass, F v = ∇_θ (g_klᵀ v). Damping
    (Schulman et al. 2015, appendix C: "cg_damping") keeps the system positive
    definite and the CG solution bounded where F is nearly singular.
    """
    params = list(params)
    kl_grad = flat_grad(mean_kl, params, create_graph=True)  # (#params,)

    def product(v: Tensor) -> Tensor:
        return flat_grad(kl_grad @ v.detach(), params, retain_graph=True) + damping * v

    return product


def fisher_vector_product(mean_kl: Tensor, params: Sequence[Tensor], v: Tensor, damping: float = 0.0) -> Tensor:
    """(F + damping·I) v for one v (see ``fisher_vector_product_fn``); v and the result are (#params,)."""
    return fisher_vector_product_fn(mean_kl, params, damping)(v)


def conjugate_gradient(Avp: Callable[[Tensor], Tensor], b: Tensor, iters: int = 10,
                       residual_tol: float = 1e-10) -> tuple[Tensor, float]:
    """Solve A x = b for symmetric positive-definite A given only v ↦ A v (Hestenes & Stiefel 1952).

    Starting from x = 0, r = p = b, each iteration
        α = rᵀr / pᵀAp,  x += α p,  r −= α A p,  β = r'ᵀr' / rᵀr,  p = r' + β p
    and stops after ``iters`` products or once rᵀr < residual_tol. In exact
    arithmetic it solves an n×n system in n iterations.

    Returns (x, ‖b − A x‖) with the residual as tracked by the recursion.
    """
    x = torch.zeros_like(b)
    r = b.clone()
    p = b.clone()
    rr = torch.dot(r, r)
    for _ in range(iters):
        if rr < residual_tol:
            break
        Ap = Avp(p)
        alpha = rr / torch.dot(p, Ap)
        x += alpha * p
        r -= alpha * Ap
        rr_new = torch.dot(r, r)
        p = r + (rr_new / rr) * p
        rr = rr_new
    return x, float(rr.sqrt())


class LineSearchResult(NamedTuple):
    params: Tensor  # the accepted flat parameters, or the start if no step passed
    accepted: bool
    backtracks: int  # how many times the step was shrunk before acceptance (iters if none passed)
    step_fraction: float  # coeff**backtracks, 0 if none passed
    improvement: float  # surrogate(new) − surrogate(old) at the accepted point, 0 if none passed
    kl: float  # mean KL at the accepted point, 0 if none passed


def backtracking_line_search(evaluate: Callable[[Tensor], tuple[float, float]], start: Tensor, full_step: Tensor,
                             max_kl: float, coeff: float = 0.8, iters: int = 10) -> LineSearchResult:
    """TRPO's line search (Schulman et al. 2015, appendix C).

    Tries θ_j = start + coeff^j · full_step for j = 0, 1, ..., iters − 1 and
    accepts the first with

        improvement_j > 0   and   kl_j ≤ max_kl,

    where (improvement_j, kl_j) = evaluate(θ_j): the change of the surrogate
    objective and the measured mean KL(π_old ‖ π_θj). ``evaluate`` may load
    θ_j into a model; the caller loads the returned ``params`` afterwards.
    """
    if not 0.0 < coeff < 1.0:
        raise ValueError(f"coeff must lie in (0, 1), got {coeff}")
    for j in range(iters):
        fraction = coeff**j
        candidate = start + fraction * full_step
        improvement, kl = evaluate(candidate)
        if improvement > 0 and kl <= max_kl:
            return LineSearchResult(candidate, True, j, fraction, improvement, kl)
    return LineSearchResult(start, False, iters, 0.0, 0.0, 0.0)


def params_vector(params: Iterable[Tensor]) -> Tensor:
    """The parameters as one detached flat vector (#params,)."""
    return torch.cat([p.detach().reshape(-1) for p in params])


@torch.no_grad()
def load_params_vector(params: Iterable[Tensor], vector: Tensor) -> None:
    """Copy a flat vector (#params,) back into the parameters, in order."""
    offset = 0
    for p in params:
        n = p.numel()
        p.copy_(vector[offset : offset + n].view_as(p))
        offset += n
