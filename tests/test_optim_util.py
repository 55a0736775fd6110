"""optim_util against explicit matrices: the Fisher-vector product, conjugate gradient, the line search.

The Fisher matrix is formed two independent ways on tiny float64 policies:
the Hessian of the mean KL (torch.autograd.functional.hessian) and, for a
categorical policy, the expected outer product of the score summed exactly
over actions; for a diagonal Gaussian, the closed form
F = mean_s J_μ(s)ᵀ diag(σ⁻²) J_μ(s) ⊕ 2·I (logstd block).
"""
import numpy as np
import pytest
import torch
from torch import distributions
from torch.func import functional_call

from cs285.infrastructure.optim_util import (
    backtracking_line_search,
    conjugate_gradient,
    fisher_vector_product,
    flat_grad,
    load_params_vector,
    params_vector,
)
from cs285.networks.policies import MLPPolicy

OB_DIM, N_OBS = 2, 6


def _tiny_policy(discrete: bool) -> tuple[MLPPolicy, torch.Tensor]:
    torch.manual_seed(0)
    policy = MLPPolicy(3 if discrete else 2, OB_DIM, discrete, n_layers=1, layer_size=4).double()
    if not discrete:
        with torch.no_grad():
            policy.logstd.copy_(torch.tensor([-0.3, 0.2]))
    return policy, torch.randn(N_OBS, OB_DIM, dtype=torch.float64)


def _mean_kl_of_flat(policy: MLPPolicy, obs: torch.Tensor):
    """θ (flat) -> mean_s KL(π_old(·|s) ‖ π_θ(·|s)), π_old = the policy now."""
    names = [n for n, _ in policy.named_parameters()]
    shapes = [p.shape for p in policy.parameters()]
    with torch.no_grad():
        old = policy(obs)

    def mean_kl(theta: torch.Tensor) -> torch.Tensor:
        chunks = torch.split(theta, [int(np.prod(s)) for s in shapes])
        params = {n: c.reshape(s) for n, c, s in zip(names, chunks, shapes)}
        return distributions.kl_divergence(old, functional_call(policy, params, (obs,))).mean()

    return mean_kl


def _fvp(policy: MLPPolicy, obs: torch.Tensor, v: torch.Tensor, damping: float = 0.0) -> torch.Tensor:
    with torch.no_grad():
        old = policy(obs)
    mean_kl = distributions.kl_divergence(old, policy(obs)).mean()
    return fisher_vector_product(mean_kl, list(policy.parameters()), v, damping)


def _score_outer_product_fisher(policy: MLPPolicy, obs: torch.Tensor) -> torch.Tensor:
    """mean_s Σ_a π(a|s) ∇log π(a|s) ∇log π(a|s)ᵀ, exactly (categorical)."""
    params = list(policy.parameters())
    dist = policy(obs)
    fisher = torch.zeros(sum(p.numel() for p in params), sum(p.numel() for p in params), dtype=torch.float64)
    for s in range(N_OBS):
        for a in range(policy.ac_dim):
            score = flat_grad(dist.log_prob(torch.tensor(a))[s], params, retain_graph=True)
            fisher += dist.probs[s, a].detach() * torch.outer(score, score)
    return fisher / N_OBS


def _gaussian_closed_form_fisher(policy: MLPPolicy, obs: torch.Tensor) -> torch.Tensor:
    """mean_s J_μᵀ diag(σ⁻²) J_μ on the mean network's weights, 2·I on logstd (parameters() order: logstd first)."""
    mean_params = list(policy.mean_net.parameters())
    n_mean = sum(p.numel() for p in mean_params)
    inv_var = torch.exp(-2 * policy.logstd.detach())
    block = torch.zeros(n_mean, n_mean, dtype=torch.float64)
    for s in range(N_OBS):
        mu = policy.mean_net(obs[s : s + 1])[0]
        jac = torch.stack([flat_grad(mu[j], mean_params, retain_graph=True) for j in range(policy.ac_dim)])
        block += jac.T @ torch.diag(inv_var) @ jac
    n_std = policy.ac_dim
    fisher = torch.zeros(n_std + n_mean, n_std + n_mean, dtype=torch.float64)
    # KL per dimension in ℓ' = logstd': ½(σ² e^{−2ℓ'} − 1) + ℓ' − ℓ; ∂²/∂ℓ'² = 2σ² e^{−2ℓ'} = 2 at ℓ' = ℓ,
    # and the μ-ℓ' cross term vanishes at μ' = μ
    fisher[:n_std, :n_std] = 2 * torch.eye(n_std)
    fisher[n_std:, n_std:] = block / N_OBS
    return fisher


def test_flat_grad_concatenates_and_fills_unused_with_zeros():
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    b = torch.tensor([[3.0]], requires_grad=True)
    unused = torch.zeros(2, requires_grad=True)
    # y = a_0² + 3 a_1 b: ∂y/∂a = [2·1, 3·3] = [2, 9], ∂y/∂b = 3·2 = 6
    y = a[0] ** 2 + 3 * a[1] * b[0, 0]
    np.testing.assert_allclose(flat_grad(y, [a, b, unused]).numpy(), [2.0, 9.0, 6.0, 0.0, 0.0])


def test_params_vector_round_trip():
    policy, _ = _tiny_policy(discrete=False)
    theta = params_vector(policy.parameters())
    load_params_vector(policy.parameters(), theta + 1.0)
    np.testing.assert_allclose(params_vector(policy.parameters()).numpy(), (theta + 1.0).numpy())


@pytest.mark.parametrize("discrete", [True, False])
def test_fisher_vector_product_equals_the_kl_hessian_times_v(discrete):
    policy, obs = _tiny_policy(discrete)
    theta = params_vector(policy.parameters())
    hessian = torch.autograd.functional.hessian(_mean_kl_of_flat(policy, obs), theta)
    torch.manual_seed(1)
    for _ in range(3):
        v = torch.randn_like(theta)
        torch.testing.assert_close(_fvp(policy, obs, v), hessian @ v, rtol=1e-9, atol=1e-12)
        # damping adds λv
        torch.testing.assert_close(_fvp(policy, obs, v, damping=0.1), hessian @ v + 0.1 * v, rtol=1e-9, atol=1e-12)


def test_categorical_fisher_vector_product_equals_score_outer_products():
    policy, obs = _tiny_policy(discrete=True)
    fisher = _score_outer_product_fisher(policy, obs)
    v = torch.randn(fisher.shape[0], dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(_fvp(policy, obs, v), fisher @ v, rtol=1e-9, atol=1e-12)


def test_gaussian_fisher_vector_product_equals_closed_form():
    policy, obs = _tiny_policy(discrete=False)
    fisher = _gaussian_closed_form_fisher(policy, obs)
    v = torch.randn(fisher.shape[0], dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(_fvp(policy, obs, v), fisher @ v, rtol=1e-9, atol=1e-12)


def test_conjugate_gradient_solves_a_small_spd_system():
    rng = np.random.default_rng(0)
    m = rng.normal(size=(6, 6))
    a = torch.tensor(m @ m.T + 0.5 * np.eye(6))  # symmetric positive definite
    b = torch.tensor(rng.normal(size=6))
    # n = 6 iterations solve a 6×6 system (exact in exact arithmetic)
    x, residual = conjugate_gradient(lambda v: a @ v, b, iters=6, residual_tol=1e-20)
    np.testing.assert_allclose(x.numpy(), np.linalg.solve(a.numpy(), b.numpy()), rtol=1e-8)
    assert residual < 1e-8
    assert residual == pytest.approx(float(torch.linalg.norm(b - a @ x)), abs=1e-9)
    # fewer iterations: not solved yet, but the residual it reports is the true one
    x2, residual2 = conjugate_gradient(lambda v: a @ v, b, iters=2)
    assert residual2 > 1e-3
    assert residual2 == pytest.approx(float(torch.linalg.norm(b - a @ x2)), rel=1e-6)


def test_conjugate_gradient_stops_at_the_tolerance():
    a = torch.diag(torch.tensor([2.0, 2.0, 2.0], dtype=torch.float64))
    calls = []
    # A = 2I: the first step x = (bᵀb / bᵀAb) b = b/2 is exact, so one product suffices
    x, residual = conjugate_gradient(lambda v: calls.append(1) or a @ v, torch.ones(3, dtype=torch.float64), iters=10)
    np.testing.assert_allclose(x.numpy(), [0.5, 0.5, 0.5])
    assert residual == 0.0 and len(calls) == 1


def test_line_search_takes_the_first_acceptable_fraction():
    start, full_step = torch.zeros(1), torch.ones(1)
    # improvement(θ) = θ − θ², KL(θ) = θ²: at coeff 0.5 the tries are θ = 1, 0.5, 0.25, ...
    # θ = 1: improvement 0, rejected; θ = 0.5: improvement 0.25 > 0 but KL 0.25 > 0.1;
    # θ = 0.25: improvement 0.1875, KL 0.0625 <= 0.1: accepted after 2 backtracks
    result = backtracking_line_search(lambda th: (float(th - th**2), float(th**2)), start, full_step, max_kl=0.1,
                                      coeff=0.5, iters=10)
    assert result.accepted and result.backtracks == 2 and result.step_fraction == 0.25
    assert result.improvement == pytest.approx(0.1875) and result.kl == pytest.approx(0.0625)
    np.testing.assert_allclose(result.params.numpy(), [0.25])


def test_line_search_returns_the_start_when_nothing_passes():
    # the surrogate only gets worse along the step: every try rejected, θ stays at the start
    result = backtracking_line_search(lambda th: (-float(th.sum()), 0.0), torch.zeros(2), torch.ones(2), max_kl=1.0,
                                      coeff=0.8, iters=5)
    assert not result.accepted and result.backtracks == 5 and result.step_fraction == 0.0
    np.testing.assert_allclose(result.params.numpy(), [0.0, 0.0])
