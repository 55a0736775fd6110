"""hw4's model-based agent: normalization, the ensemble's training, random shooting, CEM, the batched
planner against a plain loop, and the Agent protocol (save -> load -> same next update and action)."""
import inspect

import numpy as np
import pytest
import torch

from cs285.agents import model_based_agent
from cs285.agents.model_based_agent import EPS, ModelBasedAgent, normalize, unnormalize
from cs285.agents.protocol import Agent
from cs285.infrastructure import pytorch_util as ptu
from cs285.infrastructure.rollouts import Batch
from cs285.networks.ensemble import EnsembleMLP
from test_agent_protocol import assert_same, contents, reloaded, seeded_update


def neg_norm_reward(obs: np.ndarray, acs: np.ndarray):
    """r(s', a) = -‖s'‖, never done."""
    return -np.linalg.norm(obs, axis=-1), np.zeros(len(obs), bool)


def agent_of(ob_dim=1, ac_dim=1, reward=neg_norm_reward, bound=1.0, **kw) -> ModelBasedAgent:
    return ModelBasedAgent(ob_dim, ac_dim, np.full(ac_dim, -bound), np.full(ac_dim, bound), reward, **kw)


def make_linear(agent: ModelBasedAgent, A: np.ndarray, B: np.ndarray, bias=None) -> ModelBasedAgent:
    """Turn a num_layers=0 agent with the default statistics (mean 0, std 1) into the exact model
    s' = A s + B a + bias in every member: Δ = [s, a] W + b with W = [(A - I)^T; B^T] (the EPS
    factors of normalize and unnormalize cancel)."""
    W = np.concatenate([(A - np.eye(len(A))).T, B.T]).astype(np.float32)
    with torch.no_grad():
        (w,), (b,) = agent.dynamics_models.weights, agent.dynamics_models.biases
        w.copy_(torch.from_numpy(W).expand_as(w))
        b.copy_(torch.zeros_like(b) if bias is None else torch.tensor(bias, dtype=torch.float32).expand_as(b))
    return agent


def transitions(n: int, A: np.ndarray, B: np.ndarray, seed: int) -> Batch:
    rng = np.random.default_rng(seed)
    obs = rng.normal(size=(n, A.shape[0])).astype(np.float32)
    acs = rng.uniform(-1, 1, (n, B.shape[1])).astype(np.float32)
    next_obs = (obs @ A.T + acs @ B.T).astype(np.float32)
    return Batch(obs, acs, np.zeros(n), next_obs, np.zeros(n, bool), np.zeros(n, bool))


def test_normalize_round_trip_and_statistics():
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.normal(3.0, 5.0, (50, 4)), dtype=torch.float32)
    mean, std = x.mean(0), x.std(0)
    std[2] = 0.0  # a constant input: EPS keeps the division finite
    z = normalize(x, mean, std)
    assert torch.isfinite(z).all()
    torch.testing.assert_close(unnormalize(z, mean, std), x, rtol=1e-5, atol=1e-5)

    obs, acs, next_obs = rng.normal(size=(3, 40, 2)).astype(np.float32)
    agent = agent_of(2, 2)
    agent.update_statistics(obs, acs[:, :2], next_obs)
    np.testing.assert_allclose(ptu.to_numpy(agent.obs_acs_std), np.concatenate([obs, acs], 1).std(0, ddof=1), rtol=1e-5)
    np.testing.assert_allclose(ptu.to_numpy(agent.obs_delta_mean), (next_obs - obs).mean(0), atol=1e-6)


def test_ensemble_learns_a_linear_system():
    A = np.array([[0.9, 0.2, 0.0], [-0.1, 0.8, 0.1], [0.0, 0.3, 0.7]])
    B = np.array([[0.5, 0.0], [0.1, -0.4], [0.0, 0.3]])
    torch.manual_seed(0)
    agent = agent_of(3, 2, ensemble_size=2, hidden_size=64, num_layers=2, learning_rate=3e-3)
    data = transitions(4000, A, B, seed=0)
    agent.update_statistics(data.observations, data.actions, data.next_observations)
    rng = np.random.default_rng(1)
    for step in range(400):
        idx = rng.integers(0, 4000, 2 * 128)  # one block of 128 per member
        logs = agent.update(Batch(*(x[idx] for x in data)), step)
    assert logs["dynamics_loss"] < 0.01

    held_out = transitions(500, A, B, seed=2)
    deltas = held_out.next_observations - held_out.observations
    for i in range(2):
        pred = agent.get_dynamics_predictions(i, held_out.observations, held_out.actions)
        relative = ((pred - held_out.next_observations) ** 2).mean() / deltas.var(0).sum()
        assert relative < 0.003, (i, relative)


def test_members_learn_from_their_own_blocks():
    A, B = np.eye(2) * 0.5, np.ones((2, 1))
    batch = transitions(16, A, B, seed=0)
    other = Batch(*(np.concatenate([x[:8], y[8:]]) for x, y in zip(batch, transitions(16, -A, B, seed=1))))
    agents = []
    for b in (batch, other):
        torch.manual_seed(0)
        agents.append(agent_of(2, 1, ensemble_size=2, hidden_size=8, num_layers=1))
        agents[-1].update(b, 0)
    params = [list(a.dynamics_models.parameters()) for a in agents]
    assert all(torch.equal(p0[0], p1[0]) for p0, p1 in zip(*params))  # member 0: only rows 0..7, the same
    assert not all(torch.equal(p0[1], p1[1]) for p0, p1 in zip(*params))  # member 1: rows 8..15, changed
    with pytest.raises(ValueError, match="equal blocks"):
        agents[0].update(Batch(*(x[:15] for x in batch)), 1)


def test_random_shooting_picks_the_best_sequence():
    # exact model s' = s + a in 1-D, r = -|s'|; two identical members
    agent = make_linear(agent_of(num_layers=0, ensemble_size=2, mpc_horizon=2, mpc_num_action_sequences=50),
                        np.eye(1), np.eye(1))
    s0 = np.array([0.7], np.float32)
    # from 0.7: [-0.7, 0] -> 0, 0: R = 0;  [0, 0] -> 0.7, 0.7: R = -1.4;  [0.3, -0.5] -> 1.0, 0.5: R = -1.5
    hand = np.array([[[-0.7], [0.0]], [[0.0], [0.0]], [[0.3], [-0.5]]], np.float32)
    np.testing.assert_allclose(agent.evaluate_action_sequences(s0, hand), [0.0, -1.4, -1.5], atol=1e-6)

    seqs = np.random.default_rng(3).uniform(-1, 1, (50, 2, 1)).astype(np.float32)  # the planner's first draw
    s1 = s0 + seqs[:, 0, 0]
    returns = -np.abs(s1) - np.abs(s1 + seqs[:, 1, 0])
    action = agent.act(s0[None], np.random.default_rng(3))
    np.testing.assert_array_equal(action, seqs[np.argmax(returns), 0][None])


A_STAR = np.array([0.3, -0.5])


def first_action_quadratic(obs: np.ndarray, acs: np.ndarray):
    """The state counts steps (s' = s + 1 from 0): r = -‖a - a*‖² on the first step (s' = 1), 0 after."""
    first = np.abs(obs[:, 0] - 1.0) < 0.5
    return np.where(first, -((acs - A_STAR) ** 2).sum(-1), 0.0), np.zeros(len(obs), bool)


@pytest.mark.parametrize("alpha", [1.0, 0.8])
def test_cem_converges_on_a_quadratic(alpha):
    def planner(**kw):
        agent = agent_of(1, 2, first_action_quadratic, num_layers=0, ensemble_size=1, mpc_horizon=3,
                         mpc_num_action_sequences=100, **kw)
        return make_linear(agent, np.eye(1), np.zeros((1, 2)), bias=[1.0])

    cem = planner(mpc_strategy="cem", cem_num_iters=6, cem_num_elites=10, cem_alpha=alpha)
    shooting = planner()
    for seed in range(3):
        s0 = np.zeros((1, 1), np.float32)
        cem_error = np.linalg.norm(cem.act(s0, np.random.default_rng(seed))[0] - A_STAR)
        shooting_error = np.linalg.norm(shooting.act(s0, np.random.default_rng(seed))[0] - A_STAR)
        assert cem_error < 0.02 and cem_error < shooting_error, (seed, cem_error, shooting_error)


def looped_returns(agent: ModelBasedAgent, obs: np.ndarray, seqs: np.ndarray) -> np.ndarray:
    """evaluate_action_sequences written as the plain loop over members, sequences and layers."""
    net = agent.dynamics_models
    statistics = (agent.obs_acs_mean, agent.obs_acs_std, agent.obs_delta_mean, agent.obs_delta_std)
    mean_sa, std_sa, mean_d, std_d = (ptu.to_numpy(t).astype(np.float64) for t in statistics)
    weights = [ptu.to_numpy(w).astype(np.float64) for w in net.weights]
    biases = [ptu.to_numpy(b).astype(np.float64) for b in net.biases]
    totals = np.zeros((agent.ensemble_size, len(seqs)))
    for m in range(agent.ensemble_size):
        for n, seq in enumerate(seqs):
            s = obs.astype(np.float64)
            for a in seq:
                h = (np.concatenate([s, a]) - mean_sa) / (std_sa + EPS)
                for k in range(len(weights)):
                    h = h @ weights[k][m] + biases[k][m, 0]
                    if k < len(weights) - 1:
                        h = np.tanh(h)
                s = s + h * (std_d + EPS) + mean_d
                totals[m, n] += agent.get_reward(s[None], a[None])[0][0]
    return totals.mean(axis=0)


@pytest.mark.parametrize("chunk_floats", [None, 3 * 8 * 2])  # the default block, and blocks of 2 sequences of 7
def test_batched_planner_equals_the_plain_loop(chunk_floats, monkeypatch):
    def reward(obs, acs):
        return -np.linalg.norm(obs, axis=-1) + np.sin(acs).sum(-1), np.zeros(len(obs), bool)

    if chunk_floats:
        monkeypatch.setattr(model_based_agent, "CHUNK_FLOATS", chunk_floats)
    torch.manual_seed(0)
    agent = agent_of(3, 2, reward, ensemble_size=3, hidden_size=8, num_layers=2, mpc_horizon=4,
                     mpc_num_action_sequences=7)
    rng = np.random.default_rng(0)
    obs, next_obs = rng.normal(size=(2, 30, 3)).astype(np.float32)
    agent.update_statistics(obs, rng.normal(size=(30, 2)).astype(np.float32), obs + 0.1 * next_obs)
    s0 = rng.normal(size=3).astype(np.float32)

    seqs = np.random.default_rng(5).uniform(-1, 1, (7, 4, 2)).astype(np.float32)
    calls = []
    real = agent.get_reward
    agent.get_reward = lambda o, a: calls.append(o.shape) or real(o, a)
    batched = agent.evaluate_action_sequences(s0, seqs)
    assert calls == [(3 * 7, 3)] * 4  # one reward call per horizon step, for all members and sequences
    np.testing.assert_allclose(batched, looped_returns(agent, s0, seqs), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_inference_layers_give_forward_scaled_and_shifted(activation):
    torch.manual_seed(1)
    net = EnsembleMLP(3, 5, 4, n_layers=3, size=16, activation=activation)
    x = torch.randn(3, 50, 5)
    scale, shift = torch.rand(4) + 0.1, torch.randn(4)
    expected = net(x) * scale + shift
    got = net.forward_inference(net.inference_layers(scale, shift), x)
    torch.testing.assert_close(got, expected.detach(), rtol=1e-5, atol=1e-5)


def test_state_dict_round_trip_gives_the_same_update_and_action(tmp_path):
    A, B = np.eye(3) * 0.9, np.full((3, 2), 0.2)
    batch = transitions(24, A, B, seed=0)

    def make():
        return agent_of(3, 2, neg_norm_reward, ensemble_size=3, hidden_size=8, num_layers=2, mpc_horizon=3,
                        mpc_num_action_sequences=20, mpc_strategy="cem", cem_num_iters=3, cem_num_elites=4,
                        cem_alpha=0.7)

    torch.manual_seed(0)
    agent = make()
    assert isinstance(agent, Agent)
    assert list(inspect.signature(agent.update).parameters) == ["batch", "step"]
    agent.update_statistics(batch.observations, batch.actions, batch.next_observations)
    for step in (1, 2):
        seeded_update(agent, batch, step)

    fresh = reloaded(agent, make, tmp_path)

    np.testing.assert_equal(seeded_update(fresh, batch, 3), seeded_update(agent, batch, 3))
    assert_same(contents(fresh, set()), contents(agent, set()))
    obs = batch.observations[:2]
    np.testing.assert_array_equal(fresh.act(obs, np.random.default_rng(4)), agent.act(obs, np.random.default_rng(4)))
    np.testing.assert_array_equal(fresh.act(obs, None), agent.act(obs, None))


def test_cem_settings_are_checked():
    with pytest.raises(ValueError, match="needs cem_num_iters"):
        agent_of(mpc_strategy="cem", cem_num_iters=2)
    with pytest.raises(ValueError, match="CEM's"):
        agent_of(cem_alpha=0.5)
    with pytest.raises(ValueError, match="mpc_strategy"):
        agent_of(mpc_strategy="mppi")


def test_model_rollout_follows_the_ensemble_mean_and_the_actor():
    # members s' = s + a + 1 and s' = s + a - 1: their mean is s + a; the actor always plays 0.25
    agent = make_linear(agent_of(num_layers=0, ensemble_size=2), np.eye(1), np.eye(1))
    with torch.no_grad():
        agent.dynamics_models.biases[0].copy_(torch.tensor([[[1.0]], [[-1.0]]]))

    class Constant:
        def act(self, obs, rng):
            assert obs.shape == (1, 1) and rng is generator
            return np.full((1, 1), 0.25, np.float32)

    generator = np.random.default_rng(0)
    batch = agent.model_rollout(Constant(), np.array([-0.6], np.float32), 4, generator)
    np.testing.assert_allclose(batch.observations[:, 0], [-0.6, -0.35, -0.1, 0.15], atol=1e-6)
    np.testing.assert_allclose(batch.next_observations[:, 0], [-0.35, -0.1, 0.15, 0.4], atol=1e-6)
    np.testing.assert_allclose(batch.rewards, [-0.35, -0.1, -0.15, -0.4], atol=1e-6)  # -|s_{t+1}|
    np.testing.assert_array_equal(batch.actions, np.full((4, 1), 0.25))
    assert not batch.terminated.any() and not batch.truncated.any()
    assert agent.model_rollout(Constant(), np.zeros(1, np.float32), 0, generator).rewards.shape == (0,)


def test_model_check_and_open_loop_on_an_exact_and_a_biased_model(tmp_path):
    from cs285.trainers.model_based import model_check, save_open_loop_figure

    # a real episode of s' = s + a from 0.5, r = -|s'|: 7 steps, horizon 3 -> windows [0, 3) and [3, 6)
    acs = np.array([[-0.2], [0.1], [-0.3], [0.4], [-0.1], [0.2], [0.0]], np.float32)
    obs = 0.5 + np.concatenate([[0.0], np.cumsum(acs[:-1, 0])]).astype(np.float32)[:, None]
    next_obs = obs + acs
    path = {"observation": obs, "action": acs, "next_observation": next_obs, "reward": -np.abs(next_obs[:, 0])}
    exact = make_linear(agent_of(num_layers=0, mpc_horizon=3), np.eye(1), np.eye(1))
    true = [path["reward"][:3].sum(), path["reward"][3:6].sum()]
    checked = model_check(exact, path, 3)
    np.testing.assert_allclose(checked["model/window_return_true"], np.mean(true), rtol=1e-6)
    np.testing.assert_allclose(checked["model/window_return_predicted"], np.mean(true), rtol=1e-5)
    assert checked["model/window_return_abs_error"] < 1e-5
    np.testing.assert_allclose(exact.open_loop(obs[0], acs)[1], next_obs, atol=1e-6)

    # s' = s + a + 1: from each window's start, the k-th state is off by k
    biased = make_linear(agent_of(num_layers=0, mpc_horizon=3), np.eye(1), np.eye(1), bias=[1.0])
    predicted = [-sum(abs(obs[s, 0] + acs[s:s + k + 1, 0].sum() + k + 1) for k in range(3)) for s in (0, 3)]
    np.testing.assert_allclose(model_check(biased, path, 3)["model/window_return_predicted"], np.mean(predicted),
                               rtol=1e-5)
    assert model_check(biased, path, 8) == {}  # no whole window
    save_open_loop_figure(biased, path, 50, "t", str(tmp_path / "f.png"))
    assert (tmp_path / "f.png").stat().st_size > 1000
