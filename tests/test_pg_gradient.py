"""The policy-gradient estimator is unbiased, and baselines / reward-to-go cut its variance.

Each test draws many batches with a fixed seed, turns every batch into one
gradient estimate g = −∇_θ pg_surrogate_loss(log_probs, advantages) with
torch autograd, and compares the mean of the g's with the exact ∇J per
coordinate: |mean(g) − ∇J| < 4 standard errors, se = std(g)/√(num batches).
"""
import numpy as np
import pytest
import torch

from cs285.agents.pg_losses import pg_surrogate_loss
from cs285.infrastructure.estimators import discounted_return_batch, reward_to_go_batch

NUM_BATCHES = 1000
MAX_Z = 4.0


def _z_scores(grads: np.ndarray, exact: np.ndarray) -> np.ndarray:
    """(mean(g) − ∇J) / se per coordinate; grads (NUM_BATCHES, ...), exact (...)."""
    standard_error = grads.std(axis=0, ddof=1) / np.sqrt(len(grads))
    return (grads.mean(axis=0) - exact) / standard_error


def _total_variance(grads: np.ndarray) -> float:
    """Trace of the covariance of the per-batch gradient estimates."""
    return float(grads.reshape(len(grads), -1).var(axis=0, ddof=1).sum())


# ------------------------------------------------------------------ K-armed bandit
#
# π_θ = softmax(θ), J(θ) = Σ_a π_a r̄_a. With ∂π_a/∂θ_k = π_a(1[a=k] − π_k):
#   ∂J/∂θ_k = Σ_a r̄_a π_a (1[a=k] − π_k) = π_k r̄_k − π_k Σ_a π_a r̄_a = π_k (r̄_k − J).

BANDIT_LOGITS = np.array([0.3, -0.2, 0.5, 0.0])
BANDIT_MEANS = np.array([5.0, 6.0, 4.0, 5.5])  # a common offset of ~5 makes b = 0 noisy
BANDIT_NOISE = 1.0
BANDIT_BATCH = 32


def _bandit_exact_gradient() -> tuple[float, np.ndarray]:
    probs = np.exp(BANDIT_LOGITS) / np.exp(BANDIT_LOGITS).sum()
    value = probs @ BANDIT_MEANS
    return value, probs * (BANDIT_MEANS - value)


@pytest.fixture(scope="module")
def bandit_samples():
    rng = np.random.default_rng(0)
    probs = np.exp(BANDIT_LOGITS) / np.exp(BANDIT_LOGITS).sum()
    actions = rng.choice(len(probs), size=(NUM_BATCHES, BANDIT_BATCH), p=probs)
    rewards = BANDIT_MEANS[actions] + BANDIT_NOISE * rng.normal(size=actions.shape)
    return actions, rewards


def _bandit_gradients(actions: np.ndarray, advantages: np.ndarray) -> np.ndarray:
    """One −∇ surrogate per batch: (NUM_BATCHES, batch) -> (NUM_BATCHES, K).

    All batches in one autograd call: each batch m gets its own copy
    logits[m] of θ. The loss averages over NUM_BATCHES·batch terms and batch m
    only touches logits[m], so −∇_{logits[m]} loss = (per-batch estimate)/NUM_BATCHES.
    """
    logits = torch.tensor(np.tile(BANDIT_LOGITS, (len(actions), 1)), requires_grad=True)
    log_probs = torch.log_softmax(logits, dim=1).gather(1, torch.as_tensor(actions))
    loss = pg_surrogate_loss(log_probs, torch.as_tensor(advantages))
    (grad,) = torch.autograd.grad(loss, logits)
    return -len(actions) * grad.numpy()


def _bandit_advantages(rewards: np.ndarray, baseline: str) -> np.ndarray:
    value, _ = _bandit_exact_gradient()
    if baseline == "none":
        return rewards
    if baseline == "exact_value":  # b = J, a constant
        return rewards - value
    # leave-one-out batch mean: b_i = (Σ_j R_j − R_i)/(n − 1) is independent of a_i,
    # so it stays unbiased (the plain batch mean would shrink ∇J by (1 − 1/n))
    n = rewards.shape[1]
    return rewards - (rewards.sum(axis=1, keepdims=True) - rewards) / (n - 1)


def test_bandit_closed_form_matches_autograd_of_exact_objective():
    logits = torch.tensor(BANDIT_LOGITS, requires_grad=True)
    value = torch.softmax(logits, dim=0) @ torch.as_tensor(BANDIT_MEANS)
    (grad,) = torch.autograd.grad(value, logits)
    exact_value, exact_grad = _bandit_exact_gradient()
    assert value.item() == pytest.approx(exact_value)
    np.testing.assert_allclose(grad.numpy(), exact_grad, rtol=1e-12)
    # Σ_k ∂J/∂θ_k = Σ_k π_k r̄_k − J Σ_k π_k = J − J = 0 (softmax is shift-invariant)
    assert exact_grad.sum() == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("baseline", ["none", "exact_value", "leave_one_out"])
def test_bandit_policy_gradient_is_unbiased(bandit_samples, baseline):
    actions, rewards = bandit_samples
    grads = _bandit_gradients(actions, _bandit_advantages(rewards, baseline))
    _, exact_grad = _bandit_exact_gradient()
    z = _z_scores(grads, exact_grad)
    assert np.all(np.abs(z) < MAX_Z), f"z-scores {z}, mean {grads.mean(0)}, exact {exact_grad}"


def test_bandit_baseline_lowers_gradient_variance(bandit_samples):
    actions, rewards = bandit_samples
    variance = {
        name: _total_variance(_bandit_gradients(actions, _bandit_advantages(rewards, name)))
        for name in ("none", "exact_value", "leave_one_out")
    }
    # rewards ≈ 5 ± 1: with b = 0 each term ∇log π(a)·R carries the offset 5,
    # with b ≈ J only R's spread around J remains (noise ±1, arms within ±1),
    # so the variance drops many-fold (measured ≈ 20×)
    assert variance["exact_value"] < 0.2 * variance["none"], variance
    assert variance["leave_one_out"] < 0.2 * variance["none"], variance


# ------------------------------------------------------------- two-step tabular MDP
#
# s_0 = 0; action a_0 ∈ {0, 1} moves to s_1 = 1 + a_0; action a_1 ends the episode.
# Reward r_t = MDP_MEANS[s_t, a_t] + noise. π_θ(a | s) = softmax(θ[s]), θ (3, 2).
# J(θ) = E[r_0 + γ r_1] = Σ_{a_0, a_1} π(a_0|0) π(a_1|1+a_0) (r̄(0, a_0) + γ r̄(1+a_0, a_1)),
# exact by enumerating the 4 trajectories; ∇J by autograd of that sum.
#
# Unbiased estimators of ∇J, per trajectory:
#   full return:   Σ_t ∇log π(a_t|s_t) · Σ_{t'} γ^{t'} r_{t'}
#   reward-to-go:  Σ_t ∇log π(a_t|s_t) · γ^t Σ_{t'≥t} γ^{t'−t} r_{t'}
# (causality: a_t cannot affect r_{t'<t}). At γ = 1 the γ^t weight is 1 and this is
# the course's -rtg estimator; at γ < 1 the course drops γ^t, which biases it
# (checked below, so the 4-se test is known to have teeth).

MDP_LOGITS = np.array([[0.2, -0.4], [0.5, 0.0], [-0.3, 0.3]])
MDP_MEANS = np.array([[4.0, 3.0], [0.0, 2.0], [1.0, -1.0]])
MDP_NOISE = 1.0
MDP_BATCH = 16
HORIZON = 2


def _mdp_exact_gradient(discount: float) -> np.ndarray:
    logits = torch.tensor(MDP_LOGITS, requires_grad=True)
    probs = torch.softmax(logits, dim=1)  # (3 states, 2 actions)
    means = torch.as_tensor(MDP_MEANS)
    value = sum(
        probs[0, a0] * probs[1 + a0, a1] * (means[0, a0] + discount * means[1 + a0, a1])
        for a0 in range(2)
        for a1 in range(2)
    )
    (grad,) = torch.autograd.grad(value, logits)
    return grad.numpy()


@pytest.fixture(scope="module")
def mdp_samples():
    """States, actions, rewards, each (NUM_BATCHES, MDP_BATCH, HORIZON)."""
    rng = np.random.default_rng(1)
    probs = np.exp(MDP_LOGITS) / np.exp(MDP_LOGITS).sum(axis=1, keepdims=True)
    shape = (NUM_BATCHES, MDP_BATCH)
    a0 = (rng.random(shape) < probs[0, 1]).astype(int)
    s1 = 1 + a0
    a1 = (rng.random(shape) < probs[s1, 1]).astype(int)
    states = np.stack([np.zeros_like(s1), s1], axis=-1)
    actions = np.stack([a0, a1], axis=-1)
    rewards = MDP_MEANS[states, actions] + MDP_NOISE * rng.normal(size=states.shape)
    return states, actions, rewards


def _mdp_advantages(rewards: np.ndarray, discount: float, estimator: str) -> np.ndarray:
    """(NUM_BATCHES, MDP_BATCH, HORIZON) advantages, via the batched estimators."""
    flat = rewards.reshape(NUM_BATCHES, -1)  # each batch: trajectories concatenated
    dones = np.zeros(flat.shape[1], dtype=bool)
    dones[HORIZON - 1 :: HORIZON] = True
    if estimator == "full_return":
        adv = np.array([discounted_return_batch(r, dones, discount) for r in flat])
    elif estimator == "reward_to_go":
        adv = np.array([reward_to_go_batch(r, dones, discount) for r in flat])
        adv = adv * np.tile(discount ** np.arange(HORIZON), MDP_BATCH)  # γ^t weight
    elif estimator == "course_reward_to_go":  # no γ^t weight
        adv = np.array([reward_to_go_batch(r, dones, discount) for r in flat])
    else:
        raise ValueError(estimator)
    return adv.reshape(rewards.shape)


def _mdp_gradients(states, actions, advantages) -> np.ndarray:
    """One estimate per batch: (NUM_BATCHES, 3, 2), in one autograd call.

    As for the bandit, batch m gets its own copy logits[m] of θ. The loss
    averages over NUM_BATCHES·MDP_BATCH·HORIZON steps, while the estimator
    averages Σ_t over a batch's trajectories, hence g_m = −NUM_BATCHES·HORIZON·∇_{logits[m]} loss.
    """
    num_batches = len(states)
    logits = torch.tensor(np.tile(MDP_LOGITS, (num_batches, 1, 1)), requires_grad=True)
    batch_index = torch.arange(num_batches)[:, None, None]
    log_probs = torch.log_softmax(logits, dim=2)[
        batch_index, torch.as_tensor(states), torch.as_tensor(actions)
    ]  # (NUM_BATCHES, MDP_BATCH, HORIZON)
    loss = pg_surrogate_loss(log_probs, torch.as_tensor(advantages))
    (grad,) = torch.autograd.grad(loss, logits)
    return -num_batches * HORIZON * grad.numpy()


@pytest.mark.parametrize("discount", [1.0, 0.9])
def test_mdp_full_return_and_reward_to_go_are_unbiased_and_rtg_has_lower_variance(
    mdp_samples, discount
):
    states, actions, rewards = mdp_samples
    exact = _mdp_exact_gradient(discount)
    grads = {
        name: _mdp_gradients(states, actions, _mdp_advantages(rewards, discount, name))
        for name in ("full_return", "reward_to_go")
    }
    for name, g in grads.items():
        z = _z_scores(g, exact)
        assert np.all(np.abs(z) < MAX_Z), f"{name}: z-scores {z}"
    # the t = 1 term no longer carries r_0 (mean 3-4, noise 1)
    assert _total_variance(grads["reward_to_go"]) < 0.8 * _total_variance(grads["full_return"])


def test_mdp_reward_to_go_without_discount_weight_is_biased(mdp_samples):
    # γ = 0.5 and no γ^t weight: the t = 1 term is 1/γ = 2 times too large, so the
    # state-1/2 coordinates of mean(g) approach 2·∂J/∂θ[1:], far beyond 4 se
    states, actions, rewards = mdp_samples
    exact = _mdp_exact_gradient(0.5)
    grads = _mdp_gradients(states, actions, _mdp_advantages(rewards, 0.5, "course_reward_to_go"))
    assert np.max(np.abs(_z_scores(grads, exact))) > 2 * MAX_Z
