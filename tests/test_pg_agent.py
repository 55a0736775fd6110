"""PGAgent: its advantages are the estimators' on a hand-made batch, and one update follows them."""
import numpy as np
import pytest
import torch

from cs285.agents.pg_agent import PGAgent
from cs285.infrastructure import estimators
from cs285.infrastructure.rollouts import Batch

OB_DIM = 3
GAMMA = 0.5
V_CONST = 2.0

# Two episodes of reward 1 per step: steps 0-2 end in a termination, steps 3-4 in a truncation.
REWARDS = np.ones(5)
TERMINATED = np.array([False, False, True, False, False])
TRUNCATED = np.array([False, False, False, False, True])


def _batch(seed: int = 0, discrete: bool = True) -> Batch:
    rng = np.random.default_rng(seed)
    obs = rng.normal(size=(6, OB_DIM)).astype(np.float32)
    next_obs = obs[1:].copy()
    next_obs[2] = rng.normal(size=OB_DIM)  # the terminal observation of episode 1, not episode 2's first
    actions = rng.integers(0, 2, size=5) if discrete else rng.normal(size=(5, 2)).astype(np.float32)
    return Batch(obs[:5], actions, REWARDS, next_obs, TERMINATED, TRUNCATED)


def _agent(**kwargs) -> PGAgent:
    torch.manual_seed(0)
    return PGAgent(OB_DIM, 2, True, 2, 16, 1e-2, discount=GAMMA, **kwargs)


def _constant_critic(agent: PGAgent, value: float) -> None:
    """V(s) = value for every s: zero last-layer weights, bias = value."""
    last = agent.critic.network[-2]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.fill_(value)


def test_no_baseline_full_return_and_reward_to_go():
    batch = _batch()
    # Episode 1: 1 + 0.5 + 0.25 = 1.75 at all 3 steps; episode 2: 1 + 0.5 = 1.5 at both.
    q, adv, values = _agent().estimate_advantages(batch)
    np.testing.assert_allclose(q, [1.75, 1.75, 1.75, 1.5, 1.5])
    np.testing.assert_allclose(adv, q)
    assert values is None
    # Reward-to-go restarts at each end, no bootstrap without a critic: [1.75, 1.5, 1 | 1.5, 1].
    q, adv, _ = _agent(use_reward_to_go=True).estimate_advantages(batch)
    np.testing.assert_allclose(q, [1.75, 1.5, 1.0, 1.5, 1.0])
    np.testing.assert_allclose(q, estimators.reward_to_go_batch(REWARDS, TERMINATED | TRUNCATED, GAMMA))


def test_baseline_bootstraps_truncation_not_termination():
    agent = _agent(use_reward_to_go=True, use_baseline=True)
    _constant_critic(agent, V_CONST)
    q, adv, values = agent.estimate_advantages(_batch())
    np.testing.assert_allclose(values, V_CONST)
    # Terminated episode: [1.75, 1.5, 1], nothing after the end.
    # Truncated episode: t=4: 1 + 0.5·V(s_5) = 1 + 0.5·2 = 2; t=3: 1 + 0.5·2 = 2.
    np.testing.assert_allclose(q, [1.75, 1.5, 1.0, 2.0, 2.0], rtol=1e-6)
    np.testing.assert_allclose(adv, q - V_CONST, rtol=1e-6)


def test_truncation_as_termination_stops_the_bootstrap_at_the_time_limit():
    """--truncation_as_termination (the course's rule): the truncated episode's ends no longer add γ·V(s_5)."""
    agent = _agent(use_reward_to_go=True, use_baseline=True)
    _constant_critic(agent, V_CONST)
    batch = _batch().truncations_as_terminations()
    np.testing.assert_array_equal(batch.terminated | batch.truncated, _batch().terminated | _batch().truncated)
    q, _, _ = agent.estimate_advantages(batch)
    # Terminated episode as before: [1.75, 1.5, 1]. Truncated one now ends like a termination:
    # t=4: 1 (no 0.5·V(s_5)); t=3: 1 + 0.5·1 = 1.5 (2.0 and 2.0 with the bootstrap, above).
    np.testing.assert_allclose(q, [1.75, 1.5, 1.0, 1.5, 1.0], rtol=1e-6)


@pytest.mark.parametrize("gae_lambda, expected", [
    # δ_t = r_t + γ(1 − terminated_t)·2 − 2: 0 inside episodes and at the truncation,
    # 1 − 2 = −1 at the termination.
    (0.0, [0.0, 0.0, -1.0, 0.0, 0.0]),
    # λ = 1: bootstrapped reward-to-go − V = [1.75, 1.5, 1, 2, 2] − 2.
    (1.0, [-0.25, -0.5, -1.0, 0.0, 0.0]),
])
def test_gae_limits_by_hand(gae_lambda, expected):
    agent = _agent(use_reward_to_go=True, use_baseline=True, gae_lambda=gae_lambda)
    _constant_critic(agent, V_CONST)
    _, adv, _ = agent.estimate_advantages(_batch())
    np.testing.assert_allclose(adv, expected, atol=1e-6)


@pytest.mark.parametrize("gae_lambda", [None, 0.0, 0.9, 1.0])
@pytest.mark.parametrize("rtg", [False, True])
def test_advantages_match_the_estimators_with_a_learned_critic(gae_lambda, rtg):
    batch = _batch(seed=1)
    agent = _agent(use_reward_to_go=rtg, use_baseline=True, gae_lambda=gae_lambda)
    values = agent.values(batch.observations)
    next_values = agent.values(batch.next_observations)
    dones = TERMINATED | TRUNCATED
    if rtg:
        q_expected = estimators.bootstrapped_reward_to_go_batch(REWARDS, next_values, TERMINATED, TRUNCATED, GAMMA)
    else:
        q_expected = estimators.discounted_return_batch(REWARDS, dones, GAMMA)
    if gae_lambda is None:
        adv_expected = q_expected - values
    else:
        adv_expected = estimators.gae(REWARDS, values, next_values, TERMINATED, TRUNCATED, GAMMA, gae_lambda)
    q, adv, v = agent.estimate_advantages(batch)
    np.testing.assert_allclose(v, values, rtol=1e-6)
    np.testing.assert_allclose(q, q_expected, rtol=1e-6)
    np.testing.assert_allclose(adv, adv_expected, rtol=1e-6, atol=1e-9)


def test_normalized_advantages_have_mean_0_std_1():
    _, adv, _ = _agent(use_reward_to_go=True, normalize_advantages=True).estimate_advantages(_batch())
    assert abs(adv.mean()) < 1e-9 and abs(adv.std() - 1) < 1e-6


def test_gae_without_baseline_is_refused():
    with pytest.raises(ValueError, match="use_baseline"):
        _agent(gae_lambda=0.95)


def _bandit_batch(discrete: bool, n: int = 256, seed: int = 0) -> tuple[Batch, np.ndarray]:
    """One-step episodes; reward 1 for 'good' actions (action 0, or a positive first coordinate)."""
    rng = np.random.default_rng(seed)
    obs = rng.normal(size=(n, OB_DIM)).astype(np.float32)
    if discrete:
        actions = rng.integers(0, 2, size=n)
        good = actions == 0
    else:
        actions = rng.normal(size=(n, 2)).astype(np.float32)
        good = actions[:, 0] > 0
    done = np.ones(n, dtype=bool)
    return Batch(obs, actions, good.astype(np.float64), obs, done, ~done), good


@pytest.mark.parametrize("discrete", [True, False])
def test_one_update_raises_log_probs_of_positive_advantage_actions(discrete):
    batch, good = _bandit_batch(discrete)
    torch.manual_seed(0)
    agent = PGAgent(OB_DIM, 2, discrete, 2, 16, 1e-2, normalize_advantages=True, use_baseline=True)

    def log_probs() -> np.ndarray:
        with torch.no_grad():
            dtype = torch.long if discrete else torch.float32
            dist = agent.policy(torch.as_tensor(batch.observations))
            return dist.log_prob(torch.as_tensor(batch.actions, dtype=dtype)).numpy()

    _, adv, _ = agent.estimate_advantages(batch)
    assert (adv[good] > 0).all() and (adv[~good] < 0).all()
    before = log_probs()
    info = agent.update(batch, 0)
    change = log_probs() - before
    assert change[good].mean() > 0 > change[~good].mean()
    assert set(info) == {"Actor Loss", "Baseline Loss", "Baseline Explained Variance"}
    assert all(isinstance(v, float) for v in info.values())


def test_critic_steps_fit_the_targets():
    batch, _ = _bandit_batch(True)
    agent = _agent(use_baseline=True, baseline_learning_rate=1e-2, baseline_gradient_steps=50)
    targets, _, values = agent.estimate_advantages(batch)
    initial_mse = float(np.mean((values - targets) ** 2))
    info = agent.update(batch, 0)
    assert info["Baseline Loss"] < 0.5 * initial_mse
    assert "Baseline Loss" not in _agent().update(batch, 0)


def test_update_on_paths_equals_update_on_the_concatenation():
    batch = _batch()
    paths = [{"observation": batch.observations[s], "action": batch.actions[s], "reward": batch.rewards[s],
              "next_observation": batch.next_observations[s], "terminated": batch.terminated[s],
              "truncated": batch.truncated[s]} for s in (slice(0, 3), slice(3, 5))]
    assert _agent(use_baseline=True).update(Batch.from_paths(paths), 0) == _agent(use_baseline=True).update(batch, 0)


def test_constant_critic_note_once_after_patience(capsys):
    from cs285.trainers.training_logs import ConstantCriticWatch

    watch = ConstantCriticWatch("try X", patience=3)
    flat = {"Baseline Explained Variance": 1e-8}
    assert [watch.update(flat, i) for i in range(2)] == [False, False]
    assert not watch.update({"Baseline Explained Variance": 0.3}, 2)  # a real fit resets the count
    assert [watch.update(flat, i) for i in range(3, 6)] == [False, False, True]
    assert not watch.update(flat, 6) and not watch.update({"Actor Loss": 1.0}, 7)  # once; no critic: silent
    out = capsys.readouterr().out
    assert out.count("note: iteration 5:") == 1 and out.strip().endswith("try X")
