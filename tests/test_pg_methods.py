"""Beyond vanilla PG: the math of IS-PG, NPG/TRPO, PPO, actor-critic targets and observation normalization,
then a 2-iteration smoke run of every ``--pg_method`` on a discrete and a continuous env."""
import copy
import inspect
import math
import os
import sys

import numpy as np
import pytest
import torch
from torch import distributions

from cs285.agents.ac_agent import ActorCriticAgent
from cs285.agents.is_pg_agent import ISPGAgent
from cs285.agents.npg_trpo_agent import NaturalPGAgent, natural_gradient_step
from cs285.agents.pg_agent import PGAgent
from cs285.agents.pg_losses import approx_kl, importance_sampled_pg_loss, pg_surrogate_loss, ppo_clip_loss
from cs285.agents.ppo_agent import PPOAgent
from cs285.infrastructure.errors import UserError
from cs285.infrastructure.estimators import bootstrapped_reward_to_go_batch, n_step_targets
from cs285.infrastructure.logger import read_metrics
from cs285.infrastructure.optim_util import fisher_vector_product
from cs285.infrastructure.rollouts import Batch
from cs285.networks.normalization import ObsNormalizer
from cs285.networks.policies import MLPPolicy
from cs285.policies.load import load_policy
from test_pg_gradient import BANDIT_LOGITS, BANDIT_MEANS, BANDIT_NOISE, MAX_Z, _bandit_exact_gradient, _z_scores

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "scripts"))
import run_hw2  # noqa: E402

OB_DIM = 3


def _random_batch(discrete: bool, n: int = 64, seed: int = 0):
    """(obs, actions, advantages) tensors for a policy with 2 actions / 2 action dims."""
    g = torch.Generator().manual_seed(seed)
    obs = torch.randn(n, OB_DIM, generator=g)
    actions = torch.randint(0, 2, (n,), generator=g) if discrete else torch.randn(n, 2, generator=g)
    return obs, actions, torch.randn(n, generator=g)


def _policy(discrete: bool) -> MLPPolicy:
    torch.manual_seed(0)
    return MLPPolicy(2, OB_DIM, discrete, n_layers=1, layer_size=8)


def _mean_kl(old: MLPPolicy, new: MLPPolicy, obs: torch.Tensor) -> float:
    with torch.no_grad():
        return float(distributions.kl_divergence(old(obs), new(obs)).mean())


# ------------------------------------------------------------------ importance-sampled PG


def test_is_loss_at_the_behaviour_policy_has_the_on_policy_gradient_exactly():
    obs, actions, adv = _random_batch(discrete=True)
    policy = _policy(True)
    grads = []
    for loss_fn in (lambda lp: pg_surrogate_loss(lp, adv), lambda lp: importance_sampled_pg_loss(lp, lp.detach(), adv)):
        policy.zero_grad()
        loss_fn(policy(obs).log_prob(actions)).backward()
        grads.append([p.grad.clone() for p in policy.parameters()])
    # ρ = exp(0) = 1 exactly, so ρ·∇log π·A is bit-for-bit ∇log π·A
    for g_on, g_is in zip(*grads):
        assert torch.equal(g_on, g_is)


def test_is_agent_with_one_step_is_vanilla_pg():
    obs, actions, _ = _random_batch(discrete=False, n=12)
    rewards = np.linspace(-1, 1, 12)
    done = np.zeros(12, dtype=bool)
    done[[5, 11]] = True
    batch = Batch(obs.numpy(), actions.numpy(), rewards, obs.numpy(), done, np.zeros(12, dtype=bool))
    agents = []
    for cls, extra in ((PGAgent, {}), (ISPGAgent, {"n_policy_steps": 1})):
        torch.manual_seed(0)
        agent = cls(OB_DIM, 2, False, 2, 16, 1e-2, use_reward_to_go=True, normalize_advantages=True, **extra)
        info = agent.update(batch, 0)
        agents.append((agent, info))
    (pg, _), (is_pg, is_info) = agents
    # the parameters after one step agree bit for bit; the loss values differ (−mean(A) vs −mean(log π·A))
    assert is_info["IS Weight Mean"] != 1.0
    for p, q in zip(pg.policy.parameters(), is_pg.policy.parameters()):
        assert torch.equal(p, q)


BEHAVIOUR_LOGITS = np.array([-0.4, 0.6, 0.1, -0.2])  # the sampling policy μ, unlike BANDIT_LOGITS
IS_BATCH, IS_NUM_BATCHES = 32, 1000


@pytest.fixture(scope="module")
def off_policy_bandit():
    """Actions from μ = softmax(BEHAVIOUR_LOGITS), (IS_NUM_BATCHES, IS_BATCH), and their noisy rewards."""
    rng = np.random.default_rng(3)
    mu = np.exp(BEHAVIOUR_LOGITS) / np.exp(BEHAVIOUR_LOGITS).sum()
    actions = rng.choice(4, size=(IS_NUM_BATCHES, IS_BATCH), p=mu)
    return actions, BANDIT_MEANS[actions] + BANDIT_NOISE * rng.normal(size=actions.shape)


def _is_bandit_gradients(actions, rewards, is_clip=None) -> np.ndarray:
    """One −∇_θ importance_sampled_pg_loss per batch (all in one autograd call, θ copied per batch)."""
    logits = torch.tensor(np.tile(BANDIT_LOGITS, (len(actions), 1)), requires_grad=True)
    a = torch.as_tensor(actions)
    log_probs = torch.log_softmax(logits, dim=1).gather(1, a)
    old_log_probs = torch.log_softmax(torch.as_tensor(BEHAVIOUR_LOGITS), 0)[a]
    (grad,) = torch.autograd.grad(importance_sampled_pg_loss(log_probs, old_log_probs, torch.as_tensor(rewards),
                                                             is_clip), logits)
    return -len(actions) * grad.numpy()


def test_is_gradient_from_another_behaviour_policy_is_unbiased(off_policy_bandit):
    # E_{a~μ}[π(a)/μ(a) ∇log π(a) R] = E_{a~π}[∇log π(a) R] = ∇J(θ)
    _, exact = _bandit_exact_gradient()
    z = _z_scores(_is_bandit_gradients(*off_policy_bandit), exact)
    assert np.all(np.abs(z) < MAX_Z), z


def test_truncated_is_weights_are_biased(off_policy_bandit):
    # ρ = π/μ ≈ [1.85, 0.41, 1.37, 1.12]: c = 0.5 caps ρ on three arms, so the mean moves
    # well past 4 standard errors (the unbiasedness test above has teeth)
    _, exact = _bandit_exact_gradient()
    z = _z_scores(_is_bandit_gradients(*off_policy_bandit, is_clip=0.5), exact)
    assert np.max(np.abs(z)) > 2 * MAX_Z, z


def test_is_clip_weights_each_gradient_by_min_rho_c():
    logits = torch.tensor([0.5, -0.5], requires_grad=True)
    old_log_probs = torch.log(torch.tensor([0.25, 0.75]))
    adv = torch.tensor([1.0, 2.0])
    log_probs = torch.log_softmax(logits, 0)  # π = [0.731, 0.269]: ρ = [2.92, 0.36]
    loss = importance_sampled_pg_loss(log_probs, old_log_probs, adv, is_clip=1.5)
    rho = torch.exp(log_probs - old_log_probs).detach()
    weight = torch.clamp(rho, max=1.5)  # [1.5, 0.36]
    # value −mean(min(ρ, c)·A); gradient −mean(min(ρ, c)·A·∇log π)
    assert float(loss.detach()) == pytest.approx(float(-(weight * adv).mean()))
    (grad,) = torch.autograd.grad(loss, logits)
    (expected,) = torch.autograd.grad(-(weight * adv * torch.log_softmax(logits, 0)).mean(), logits)
    torch.testing.assert_close(grad, expected)


# ------------------------------------------------------------------ NPG / TRPO


@pytest.mark.parametrize("discrete", [True, False])
def test_trpo_step_keeps_the_kl_bound_and_improves_the_surrogate(discrete):
    obs, actions, adv = _random_batch(discrete)
    policy = _policy(discrete)
    old = copy.deepcopy(policy)
    step = natural_gradient_step(policy, obs, actions, adv, trust_region=True, max_kl=0.01)
    kl = _mean_kl(old, policy, obs)
    assert 0 < kl <= 0.01 and step.kl == pytest.approx(kl, rel=1e-4)
    with torch.no_grad():
        surrogate = (torch.exp(policy(obs).log_prob(actions) - old(obs).log_prob(actions)) * adv).mean()
    # L(θ_old) = mean(A)
    assert float(surrogate) - float(adv.mean()) == pytest.approx(step.surrogate_improvement, rel=1e-4)
    assert step.surrogate_improvement > 0


def test_trpo_full_step_puts_the_quadratic_kl_model_at_the_bound():
    obs, actions, adv = _random_batch(discrete=True)
    policy = _policy(True)
    old = copy.deepcopy(policy)
    eps, damping = 1e-5, 0.1
    step = natural_gradient_step(policy, obs, actions, adv, trust_region=True, max_kl=eps, cg_damping=damping)
    assert step.line_search_steps == 0  # a small ε: the full step passes
    with torch.no_grad():
        old_dist = old(obs)
    params = list(old.parameters())
    x = step.direction
    x_f_x = float(x @ fisher_vector_product(distributions.kl_divergence(old_dist, old(obs)).mean(), params, x))
    # β = √(2ε / xᵀ(F+λI)x), so ½β²xᵀ(F+λI)x = ε, with xᵀ(F+λI)x = xᵀFx + λ xᵀx
    assert 0.5 * step.step_size**2 * (x_f_x + damping * float(x @ x)) == pytest.approx(eps, rel=1e-5)
    # the measured KL follows the undamped quadratic model ½β²xᵀFx (≤ ε)
    predicted = 0.5 * step.step_size**2 * x_f_x
    assert step.kl <= eps and abs(step.kl - predicted) / predicted < 0.1, (step.kl, predicted)


@pytest.mark.parametrize("discrete", [True, False])
def test_npg_step_kl_is_half_alpha_squared_x_f_x(discrete):
    obs, actions, adv = _random_batch(discrete)
    policy = _policy(discrete)
    old = copy.deepcopy(policy)
    alpha = 0.02
    step = natural_gradient_step(policy, obs, actions, adv, trust_region=False, npg_step_size=alpha)
    with torch.no_grad():
        old_dist = old(obs)
    mean_kl = distributions.kl_divergence(old_dist, old(obs)).mean()
    x_f_x = float(step.direction @ fisher_vector_product(mean_kl, list(old.parameters()), step.direction))
    predicted = 0.5 * alpha**2 * x_f_x
    kl = _mean_kl(old, policy, obs)
    assert step.kl == pytest.approx(kl, rel=1e-4) and step.line_search_steps == 0
    assert abs(kl - predicted) / predicted < 0.1, (kl, predicted)


# ------------------------------------------------------------------ PPO


def test_ppo_loss_at_ratio_one_is_minus_mean_advantage():
    adv = torch.tensor([1.0, -2.0, 0.5, 3.0])
    # ρ = 1 inside [0.8, 1.2]: min(A, A) = A, loss = −(1 − 2 + 0.5 + 3)/4 = −0.625
    assert float(ppo_clip_loss(torch.zeros(4), adv, 0.2)) == pytest.approx(-0.625)


def test_approx_kl_by_hand():
    # log ρ = 0: (1 − 1) − 0 = 0; log ρ = 1: (e − 1) − 1 = e − 2; log ρ = −1: (1/e − 1) + 1 = 1/e
    assert float(approx_kl(torch.zeros(3))) == 0.0
    assert float(approx_kl(torch.tensor([1.0, -1.0]))) == pytest.approx((math.e - 2 + 1 / math.e) / 2)


def test_ppo_gradient_vanishes_exactly_where_the_clip_is_active():
    rho = torch.tensor([1.5, 0.5, 1.5, 0.5, 1.1, 0.9])
    adv = torch.tensor([2.0, -1.0, -1.0, 3.0, 1.0, -1.0])
    log_ratio = torch.log(rho).requires_grad_()
    loss = ppo_clip_loss(log_ratio, adv, 0.2)
    # terms min(ρA, clip(ρ)A): [min(3, 2.4), min(−0.5, −0.8), min(−1.5, −1.2), min(1.5, 2.4), 1.1, −0.9]
    #                        = [2.4, −0.8, −1.5, 1.5, 1.1, −0.9]; loss = −(1.8)/6 = −0.3
    assert float(loss.detach()) == pytest.approx(-0.3)
    (grad,) = torch.autograd.grad(loss, log_ratio)
    # clipped (zero gradient): A > 0, ρ > 1.2 (step 0) and A < 0, ρ < 0.8 (step 1).
    # Elsewhere ∂/∂log ρ of −ρA/6 = −ρA/6: step 2: −1.5·(−1)/6 = 0.25, step 3: −0.5·3/6 = −0.25
    # (ρ outside [0.8, 1.2] on the pessimistic side keeps its gradient), step 4: −1.1/6, step 5: 0.9/6
    torch.testing.assert_close(grad, torch.tensor([0.0, 0.0, 0.25, -0.25, -1.1 / 6, 0.9 / 6]))


def _ppo_batch(n: int = 200, seed: int = 0):
    rng = np.random.default_rng(seed)
    obs = rng.normal(size=(n + 1, OB_DIM)).astype(np.float32)
    terminated = np.zeros(n, dtype=bool)
    truncated = np.zeros(n, dtype=bool)
    terminated[n // 2], truncated[-1] = True, True
    return Batch(obs[:-1], rng.normal(size=(n, 2)).astype(np.float32), rng.normal(size=n), obs[1:], terminated,
                 truncated)


def test_ppo_update_diagnostics_and_kl_early_stop():
    torch.manual_seed(0)
    agent = PPOAgent(OB_DIM, 2, False, 2, 16, 3e-3, baseline_learning_rate=3e-3, ppo_epochs=4,
                     ppo_minibatch_size=50, normalize_advantages=True)
    before = [p.detach().clone() for p in agent.policy.parameters()]
    info = agent.update(_ppo_batch(), 0)
    assert info["PPO Epochs"] == 4 and info["Approx KL"] >= 0 and 0 <= info["Clip Fraction"] <= 1
    # Gaussian entropy Σ_j (logstd_j + ½(1 + log 2π)) = 2·1.4189 at logstd ≈ 0
    assert info["Entropy"] == pytest.approx(2 * (0.5 + 0.5 * math.log(2 * math.pi)), abs=0.05)
    assert not all(torch.equal(b, p) for b, p in zip(before, agent.policy.parameters()))
    # the first minibatch step already moves the policy past a tiny target KL: one epoch only
    torch.manual_seed(0)
    agent = PPOAgent(OB_DIM, 2, False, 2, 16, 3e-3, ppo_epochs=4, ppo_minibatch_size=50, target_kl=1e-9)
    assert agent.update(_ppo_batch(), 0)["PPO Epochs"] == 1


def test_ppo_shared_buffer_keeps_the_policy_a_normal_module(tmp_path):
    torch.manual_seed(0)
    agent = PPOAgent(OB_DIM, 2, False, 2, 16, 3e-3, baseline_learning_rate=1e-3, normalize_obs=True)
    agent.update(_ppo_batch(), 0)
    obs = _ppo_batch(seed=1)[0]
    path = str(tmp_path / "policy.pt")
    agent.save(path)
    loaded, _ = load_policy(path)
    np.testing.assert_allclose(loaded.act(obs, None), agent.policy.snapshot().act(obs, None), rtol=1e-5, atol=1e-6)
    # each saved tensor owns its storage: the critic, which shares the policy's buffer in memory, is not saved
    for tensor in torch.load(path, weights_only=True)["state_dict"].values():
        assert tensor.untyped_storage().nbytes() == tensor.numel() * tensor.element_size()


def test_ppo_reward_normalization_makes_the_update_invariant_to_the_reward_scale():
    def params_after(reward_scale):
        torch.manual_seed(0)
        agent = PPOAgent(OB_DIM, 2, False, 2, 16, 3e-3, ppo_epochs=2, ppo_minibatch_size=50,
                         normalize_rewards=True, discount=0.9)
        obs, acts, rewards, next_obs, terminated, truncated = _ppo_batch()
        agent.update(Batch(obs, acts, reward_scale * rewards, next_obs, terminated, truncated), 0)
        return torch.cat([p.detach().flatten() for p in agent.all_parameters()])

    torch.testing.assert_close(params_after(1.0), params_after(100.0), rtol=1e-4, atol=1e-5)
    # without it the scale matters (the critic's targets grow 100x)
    torch.manual_seed(0)
    plain = PPOAgent(OB_DIM, 2, False, 2, 16, 3e-3, ppo_epochs=2, ppo_minibatch_size=50, discount=0.9)
    obs, acts, rewards, next_obs, terminated, truncated = _ppo_batch()
    plain.update(Batch(obs, acts, 100.0 * rewards, next_obs, terminated, truncated), 0)
    assert not torch.allclose(torch.cat([p.detach().flatten() for p in plain.all_parameters()]), params_after(100.0))


def test_ppo_learning_rate_fraction_scales_both_step_sizes():
    agent = PPOAgent(OB_DIM, 2, False, 1, 8, 1e-3, baseline_learning_rate=4e-3)
    agent.set_learning_rate_fraction(0.25)
    assert [g["lr"] for g in agent.optimizer.param_groups] == pytest.approx([2.5e-4, 1e-3])


def test_policy_initialization_options():
    torch.manual_seed(0)
    plain = MLPPolicy(2, OB_DIM, False, 2, 16)
    torch.manual_seed(0)
    small = MLPPolicy(2, OB_DIM, False, 2, 16, init_log_std=-1.5, small_output_init=True)
    torch.testing.assert_close(small.logstd.detach(), torch.full((2,), -1.5))
    torch.testing.assert_close(small.mean_net[-2].weight, 0.01 * plain.mean_net[-2].weight)
    assert not small.mean_net[-2].bias.any()
    torch.testing.assert_close(small.mean_net[0].weight, plain.mean_net[0].weight)  # hidden layers untouched


def test_ppo_minibatch_size_from_n_minibatches():
    agent = PPOAgent(OB_DIM, 2, True, 1, 8, 1e-3, n_minibatches=4)
    assert agent.minibatch_size(1000) == 250 and agent.minibatch_size(1001) == 251
    assert PPOAgent(OB_DIM, 2, True, 1, 8, 1e-3, ppo_minibatch_size=64).minibatch_size(50) == 50


# ------------------------------------------------------------------ actor-critic targets

# Two episodes: steps 0-2 end in a termination, steps 3-4 in a truncation. γ = 0.5.
REWARDS = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
NEXT_VALUES = np.array([10.0, 20.0, 30.0, 40.0, 50.0])  # V(s_{t+1}), the real next observation
TERMINATED = np.array([False, False, True, False, False])
TRUNCATED = np.array([False, False, False, False, True])


def test_one_step_targets_bootstrap_at_truncation_not_termination():
    y = n_step_targets(REWARDS, NEXT_VALUES, TERMINATED, TRUNCATED, 0.5, 1)
    # y_t = r_t + γ(1 − terminated_t)V(s_{t+1}):
    # [1 + 0.5·10, 2 + 0.5·20, 3 + 0 (terminated), 4 + 0.5·40, 5 + 0.5·50 (truncated: kept)]
    np.testing.assert_allclose(y, [6.0, 12.0, 3.0, 24.0, 30.0])


def test_n_step_targets_stop_at_episode_ends():
    y = n_step_targets(REWARDS, NEXT_VALUES, TERMINATED, TRUNCATED, 0.5, 2)
    # t=0: 1 + 0.5·2 + 0.25·V(s_2)=20        -> 1 + 1 + 5      = 7
    # t=1: 2 + 0.5·3 + 0.25·0 (terminated)    -> 2 + 1.5        = 3.5
    # t=2: one step left: 3 + 0 (terminated)                     = 3
    # t=3: 4 + 0.5·5 + 0.25·V(s_5)=50 (trunc) -> 4 + 2.5 + 12.5 = 19
    # t=4: one step left: 5 + 0.5·50                             = 30
    np.testing.assert_allclose(y, [7.0, 3.5, 3.0, 19.0, 30.0])
    # n ≥ the longest episode: the bootstrapped reward-to-go
    np.testing.assert_allclose(n_step_targets(REWARDS, NEXT_VALUES, TERMINATED, TRUNCATED, 0.5, 3),
                               bootstrapped_reward_to_go_batch(REWARDS, NEXT_VALUES, TERMINATED, TRUNCATED, 0.5))


def _constant_critic(critic, value: float) -> None:
    last = critic.network[-2]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.fill_(value)


def test_actor_critic_targets_and_advantages_with_a_constant_critic():
    agent = ActorCriticAgent(OB_DIM, 2, True, 1, 8, 1e-3, discount=0.5)
    _constant_critic(agent.critic, 2.0)
    _constant_critic(agent.critic_target, 4.0)
    obs = torch.randn(5, OB_DIM)
    # targets from V_target = 4: [1 + 0.5·4, 2 + 2, 3 + 0 (terminated), 4 + 2, 5 + 2 (truncated)]
    np.testing.assert_allclose(agent.critic_targets(REWARDS, obs, TERMINATED, TRUNCATED), [3.0, 4.0, 3.0, 6.0, 7.0])
    # A = r + γ(1 − terminated)V(s') − V(s) with V = 2: [1 + 1 − 2, 2 + 1 − 2, 3 − 2, 4 + 1 − 2, 5 + 1 − 2]
    batch = Batch(obs.numpy(), np.zeros(5, dtype=int), REWARDS, obs.numpy(), TERMINATED, TRUNCATED)
    y, adv, values = agent.estimate_advantages(batch)
    np.testing.assert_allclose(adv, [0.0, 1.0, 1.0, 3.0, 4.0], atol=1e-6)
    # the current critic's one-step targets y = A + V(s)
    np.testing.assert_allclose(y, [2.0, 3.0, 3.0, 5.0, 6.0], atol=1e-6)
    np.testing.assert_allclose(values, 2.0)


def test_actor_critic_target_network_is_refreshed_every_period():
    batch = _ppo_batch(n=20)
    agents = []
    for steps in (3, 2):
        torch.manual_seed(0)
        agent = ActorCriticAgent(OB_DIM, 2, False, 1, 8, 1e-3, baseline_learning_rate=1e-2,
                                 critic_updates_per_iter=steps, target_update_period=2)
        agent.update(batch, 0)
        agents.append(agent)
    three, two = agents
    # period 2: V is copied into V_target before critic steps 0 and 2, so after 3 steps the target
    # is the critic after 2 steps, which the same run stopped after 2 steps has as its critic
    assert three.critic_steps_done == 3
    for target, critic in zip(three.critic_target.parameters(), two.critic.parameters()):
        assert torch.equal(target, critic)
    assert not all(torch.equal(a, b) for a, b in zip(three.critic.parameters(), two.critic.parameters()))


# ------------------------------------------------------------------ observation normalization


def test_obs_normalizer_running_stats_equal_the_stats_of_all_rows():
    rng = np.random.default_rng(0)
    batches = [rng.normal(3.0, 2.0, size=(n, 4)) for n in (10, 50, 7)]
    norm = ObsNormalizer(4)
    for b in batches:
        norm.update(b)
    everything = np.concatenate(batches)
    # the prior count 1e-4 shifts the result by ~1e-4/67 relative
    np.testing.assert_allclose(norm.mean.numpy(), everything.mean(0), rtol=1e-5)
    np.testing.assert_allclose(norm.var.numpy(), everything.var(0), rtol=1e-5)
    z = norm(torch.as_tensor(everything, dtype=torch.float32)).numpy()
    np.testing.assert_allclose(z.mean(0), 0.0, atol=1e-4)
    np.testing.assert_allclose(z.std(0), 1.0, rtol=1e-4)
    np.testing.assert_allclose(norm.numpy_fn()(everything), z, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("discrete", [True, False])
def test_normalizing_policy_sampler_update_and_checkpoint_agree(discrete, tmp_path):
    torch.manual_seed(0)
    agent = PGAgent(OB_DIM, 2, discrete, 2, 16, 1e-2, use_baseline=True, normalize_obs=True)
    obs = np.random.default_rng(0).normal(5.0, 3.0, size=(40, OB_DIM)).astype(np.float32)
    actions = np.zeros(40, dtype=int) if discrete else np.zeros((40, 2), dtype=np.float32)
    done = np.zeros(40, dtype=bool)
    agent.update(Batch(obs, actions, np.ones(40), obs, done, done), 0)
    assert float(agent.policy.obs_normalizer.count) == pytest.approx(40, abs=1e-3)
    obs_t = torch.as_tensor(obs)
    expected = agent.policy.mode(obs_t).detach().numpy()
    # the sampler's NumPy copy and the update's torch path normalize alike
    np.testing.assert_allclose(agent.policy.snapshot().act(obs, None), expected, rtol=1e-4, atol=1e-5)
    with torch.no_grad():
        unnormalized = MLPPolicy(2, OB_DIM, discrete, 2, 16)
        unnormalized.load_state_dict({k: v for k, v in agent.policy.state_dict().items() if "obs_normalizer" not in k})
        assert not np.allclose(unnormalized.mode(obs_t).numpy(), expected)
    path = str(tmp_path / "policy.pt")
    agent.save(path)
    loaded, _ = load_policy(path)
    np.testing.assert_allclose(loaded.act(obs, None), expected, rtol=1e-4, atol=1e-5)


def test_a_policy_sized_by_a_discrete_space_saves_and_reloads(tmp_path):
    import gymnasium as gym

    n = gym.spaces.Discrete(3).n  # a NumPy integer, as run_hw2 reads it off CartPole and LunarLander
    agent = PGAgent(OB_DIM, n, True, 2, 16, 1e-2)
    path = str(tmp_path / "policy.pt")
    agent.save(path)
    loaded, _ = load_policy(path)  # a weights-only load: a NumPy scalar in the config would be refused
    obs = np.zeros((4, OB_DIM), dtype=np.float32)
    np.testing.assert_array_equal(loaded.act(obs, None), agent.policy.snapshot().act(obs, None))
    # a checkpoint of an earlier version, whose config kept the NumPy integer, still loads
    old = {"kind": "MLPPolicy", "config": {**agent.policy.config, "ac_dim": np.int64(3)},
           "state_dict": agent.policy.state_dict()}
    torch.save(old, path)
    loaded, _ = load_policy(path)
    np.testing.assert_array_equal(loaded.act(obs, None), agent.policy.snapshot().act(obs, None))


# ------------------------------------------------------------------ run_hw2.py

METHOD_KEYS = {
    "vanilla": ["Actor Loss"],
    "is": ["Actor Loss", "IS Weight Mean", "IS Weight Max", "Approx KL"],
    "npg": ["Actor Loss", "KL", "CG Residual", "Line Search Steps", "Surrogate Improvement"],
    "trpo": ["Actor Loss", "KL", "CG Residual", "Line Search Steps", "Surrogate Improvement"],
    "ppo": ["Actor Loss", "Baseline Loss", "Approx KL", "Clip Fraction", "Entropy", "Explained Variance"],
    "ac": ["Actor Loss", "Baseline Loss", "Baseline Explained Variance"],
}
COURSE_KEYS = ["Eval_AverageReturn", "Train_AverageReturn", "Train_EnvstepsSoFar", "TimeSinceStart"]


@pytest.mark.parametrize("env", ["CartPole-v1", "InvertedPendulum-v4"])
@pytest.mark.parametrize("method", list(METHOD_KEYS))
def test_every_method_runs_two_iterations(method, env, data_dir):
    args = run_hw2.parse_args(["--env", env, "-n", "2", "-b", "60", "-eb", "20", "--ep_len", "30", "-rtg", "-na",
                               "--pg_method", method, "--normalize_obs", "--exp_name", method,
                               "--critic_updates_per_iter", "10", "--ppo_minibatch_size", "32",
                               "--num_envs", "2"])
    run_hw2.run(args, seed=1)
    (run_dir,) = list(data_dir.iterdir())
    rows = read_metrics(str(run_dir))
    assert [r["step"] for r in rows] == [0, 1]
    for key in COURSE_KEYS + METHOD_KEYS[method]:
        assert all(key in r and math.isfinite(r[key]) for r in rows), key
    assert "Initial_DataCollection_AverageReturn" in rows[0]


def test_rollouts_default_to_segments_for_ppo_only():
    assert run_hw2.parse_args(["--env", "CartPole-v1", "--pg_method", "ppo"]).rollouts == "segments"
    assert run_hw2.parse_args(["--env", "CartPole-v1", "--pg_method", "trpo"]).rollouts == "episodes"
    assert run_hw2.parse_args(["--env", "CartPole-v1", "--rollouts", "segments"]).rollouts == "segments"


def test_method_flags_and_implied_settings():
    args = run_hw2.parse_args(["--env", "CartPole-v1", "--pg_method", "ppo", "--clip_eps", "0.1", "--ppo_epochs", "3",
                               "--n_minibatches", "8", "--target_kl", "0.02", "--ent_coef", "0.01"])
    assert args.use_baseline and args.gae_lambda == 0.95
    assert (args.clip_eps, args.ppo_epochs, args.n_minibatches, args.target_kl, args.ent_coef) == (0.1, 3, 8, 0.02,
                                                                                                  0.01)
    args = run_hw2.parse_args(["--env", "CartPole-v1", "--pg_method", "trpo", "--max_kl", "0.05", "--cg_iters", "5"])
    assert (args.max_kl, args.cg_iters, args.cg_damping, args.backtrack_coeff) == (0.05, 5, 0.1, 0.8)
    assert run_hw2.parse_args(["--env", "CartPole-v1"]).pg_method == "vanilla"
    help_text = run_hw2.build_parser().format_help()
    for method in METHOD_KEYS:
        assert f"  {method} " in help_text


@pytest.mark.parametrize("flags, message", [
    (["--pg_method", "ac", "--gae_lambda", "0.9"], "--n_step"),
    (["--pg_method", "trpo", "--anneal_lr"], "PPO option"),
    (["--num_envs", "0"], "--num_envs"),
    (["--pg_method", "is", "--is_clip", "0"], "--is_clip"),
    (["--pg_method", "trpo", "--backtrack_coeff", "1.0"], "--backtrack_coeff"),
    (["--pg_method", "ppo", "--ppo_epochs", "0"], "--ppo_epochs"),
])
def test_bad_method_flags(flags, message):
    with pytest.raises(UserError, match=message):
        run_hw2.parse_args(["--env", "CartPole-v0", *flags])


# ------------------------------------------------------------------ one interface for every PG agent

AGENT_CLASSES = {
    "vanilla": (PGAgent, {}),
    "is": (ISPGAgent, {"n_policy_steps": 2}),
    "npg": (NaturalPGAgent, {"trust_region": False}),
    "trpo": (NaturalPGAgent, {"trust_region": True}),
    "ppo": (PPOAgent, {"ppo_epochs": 1, "ppo_minibatch_size": 10}),
    "ac": (ActorCriticAgent, {"critic_updates_per_iter": 2}),
}


@pytest.mark.parametrize("method", sorted(AGENT_CLASSES))
def test_every_update_changes_the_weights_and_the_checkpoint_reloads(method):
    cls, extra = AGENT_CLASSES[method]
    torch.manual_seed(0)
    agent = cls(OB_DIM, 2, False, 1, 8, 1e-2, use_baseline=True, use_reward_to_go=True, **extra)
    nets = [agent.policy, agent.critic]
    before = [torch.cat([p.detach().flatten().clone() for p in net.parameters()]) for net in nets]
    info = agent.update(_ppo_batch(n=20), 0)
    assert info and all(isinstance(v, float) for v in info.values())
    for net, old in zip(nets, before):  # nothing raised for a missing optimizer, and both networks moved
        assert not torch.equal(torch.cat([p.detach().flatten() for p in net.parameters()]), old)
    assert len(agent.optimizers()) == (1 if method in ("ppo", "npg", "trpo") else 2)
    torch.manual_seed(1)
    other = cls(OB_DIM, 2, False, 1, 8, 1e-2, use_baseline=True, use_reward_to_go=True, **extra)
    other.load_state_dict(agent.state_dict())
    for a, b in zip(agent.policy.parameters(), other.policy.parameters()):
        assert torch.equal(a, b)


def test_npg_loads_a_checkpoint_with_the_old_unused_policy_adam():
    agent = NaturalPGAgent(OB_DIM, 2, False, 1, 8, 1e-2, use_baseline=True, trust_region=False)
    state = agent.state_dict()
    unused_adam = torch.optim.Adam(agent.policy.parameters(), 1e-2).state_dict()
    agent.load_state_dict({**state, "optimizers": [unused_adam, *state["optimizers"]]})


@pytest.mark.parametrize("cls", [PGAgent, ISPGAgent, NaturalPGAgent, PPOAgent, ActorCriticAgent])
def test_ignored_flags_are_constructor_keywords(cls):
    keywords = set(inspect.signature(cls).parameters) | set(inspect.signature(PGAgent).parameters)
    assert set(cls.IGNORED_FLAGS) <= keywords - {"args", "kwargs"}
    assert all(isinstance(reason, str) and reason for reason in cls.IGNORED_FLAGS.values())
