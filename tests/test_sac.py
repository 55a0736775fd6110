"""SAC: critic target (terminated vs truncated), squashed log-prob, the Actor protocol,
checkpoints and resume of scripts/train_expert.py."""
import math
import os
import sys

import numpy as np
import pytest
import torch

from cs285.agents.sac_agent import SACAgent, squashed_gaussian_log_prob
from cs285.infrastructure import pytorch_util as ptu
from cs285.infrastructure.replay_buffer import ReplayBuffer
from cs285.infrastructure.rollouts import Batch
from cs285.trainers.checkpointing import BEST, LATEST

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import train_expert  # noqa: E402

torch.set_num_threads(1)


def small_agent(ob_dim=3, ac_dim=2, low=-1.0, high=1.0, seed=0) -> SACAgent:
    torch.manual_seed(seed)
    return SACAgent(ob_dim, ac_dim, np.full(ac_dim, low), np.full(ac_dim, high), hidden_size=16)


def test_critic_target_terminated_vs_truncated():
    agent = small_agent()
    with torch.no_grad():
        # Q_targ_1 = 3, Q_targ_2 = 5 everywhere: zero weights, constant last-layer biases
        for w in agent.critic_target.weights:
            w.zero_()
        for b in agent.critic_target.biases[:-1]:
            b.zero_()
        agent.critic_target.biases[-1].copy_(torch.tensor([3.0, 5.0]).view(2, 1, 1))
        agent.log_alpha.fill_(math.log(0.5))
    agent.sample_action = lambda obs: (torch.zeros(len(obs), 2), torch.full((len(obs),), -1.0))

    # step 0 terminated, step 1 truncated by the time limit
    buffer = ReplayBuffer(4, 3, 2)
    buffer.insert(Batch(np.zeros((2, 3)), np.zeros((2, 2)), np.ones(2), np.ones((2, 3)), np.array([True, False]),
                        np.array([False, True])))
    rewards, next_obs, terminated = (torch.as_tensor(x) for x in (
        buffer.rewards[:2], buffer.next_observations[:2], buffer.terminated[:2]))
    y = agent.critic_target_values(rewards, next_obs, terminated)
    # min Q_targ = 3, alpha log pi = 0.5 * -1 = -0.5, soft value = 3 + 0.5 = 3.5
    # terminated: y = 1 + 0.99 * 0 * 3.5 = 1.0;   truncated: y = 1 + 0.99 * 3.5 = 4.465
    np.testing.assert_allclose(y.numpy(), [1.0, 4.465], rtol=1e-6)


def test_squashed_log_prob_matches_change_of_variables():
    # a = bias + scale * tanh(u), u ~ N(mu, std) on [low, high] = [-2, 4]: bias 1, scale 3.
    # P(a0 < a < a0 + h) = Phi((atanh((a0 + h - 1)/3) - mu)/std) - Phi((atanh((a0 - 1)/3) - mu)/std) ~ p(a0) h
    mu, std, bias, scale, h = 0.3, 0.7, 1.0, 3.0, 1e-4
    normal = torch.distributions.Normal(torch.tensor(mu, dtype=torch.float64), torch.tensor(std, dtype=torch.float64))
    for a0 in (-1.5, 0.0, 1.0, 2.5, 3.9):
        lo, hi = (torch.tensor((x - bias) / scale, dtype=torch.float64) for x in (a0, a0 + h))
        density = float(normal.cdf(torch.atanh(hi)) - normal.cdf(torch.atanh(lo))) / h
        u = torch.atanh(torch.tensor([[(a0 + h / 2 - bias) / scale]], dtype=torch.float64))
        log_p = squashed_gaussian_log_prob(u, torch.full_like(u, mu), torch.full_like(u, math.log(std)),
                                           log_scale_sum=math.log(scale))
        assert float(log_p) == pytest.approx(math.log(density), abs=1e-5)


def test_agent_log_prob_includes_action_scale():
    agent = small_agent(low=-2.0, high=4.0)  # scale 3 per dim
    obs = torch.randn(5, 3)
    torch.manual_seed(1)
    actions, log_probs = agent.sample_action(obs)
    assert actions.shape == (5, 2) and log_probs.shape == (5,)
    assert torch.all(actions > -2.0) and torch.all(actions < 4.0)
    mu, log_std = agent._dist_params(obs)
    u = torch.atanh((actions - 1.0) / 3.0)
    expected = (torch.distributions.Normal(mu, log_std.exp()).log_prob(u)
                - torch.log(3.0 * (1 - torch.tanh(u) ** 2))).sum(-1)
    torch.testing.assert_close(log_probs, expected, rtol=1e-3, atol=1e-3)


def test_act_is_the_actor_protocol():
    agent = small_agent(low=-2.0, high=4.0)
    obs = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    np.testing.assert_array_equal(agent.act(obs, None), agent.get_action(obs, deterministic=True))
    a, b = agent.act(obs, np.random.default_rng(1)), agent.act(obs, np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)  # the numpy generator drives the noise
    assert a.shape == (5, 2) and np.all(a > -2.0) and np.all(a < 4.0)
    assert not np.allclose(a, agent.act(obs, None))
    # u = mu + std * eps with the generator's eps: a = 1 + 3 tanh(u)
    with torch.no_grad():
        mu, log_std = agent._dist_params(torch.as_tensor(obs))
    eps = np.random.default_rng(1).standard_normal((5, 2))
    np.testing.assert_allclose(a, 1 + 3 * np.tanh(mu.numpy() + eps * log_std.exp().numpy()), rtol=1e-5, atol=1e-5)


def test_checkpoint_roundtrip_gives_identical_actions(tmp_path):
    agent = small_agent()
    buffer = ReplayBuffer(100, 3, 2)
    rng = np.random.default_rng(0)
    buffer.insert(Batch(rng.normal(size=(50, 3)), rng.uniform(-1, 1, (50, 2)), rng.normal(size=50),
                        rng.normal(size=(50, 3)), rng.random(50) < 0.1, np.zeros(50, bool)))
    for step in range(3):
        agent.update(buffer.sample(32, rng), step)
    path = str(tmp_path / "ckpt.pt")
    ptu.save_checkpoint({"agent": agent.state_dict()}, path)
    other = small_agent(seed=123)
    other.load_state_dict(ptu.load_checkpoint(path)["agent"])

    obs = rng.normal(size=(4, 3)).astype(np.float32)
    np.testing.assert_array_equal(agent.get_action(obs, deterministic=True), other.get_action(obs, deterministic=True))
    # optimizer states came along too: the next update is the same
    batch = buffer.sample(32, rng)
    torch.manual_seed(7)
    agent.update(batch, 3)
    torch.manual_seed(7)
    other.update(batch, 3)
    np.testing.assert_array_equal(agent.get_action(obs, deterministic=True), other.get_action(obs, deterministic=True))
    assert agent.log_alpha.item() == other.log_alpha.item()


TINY = ["--env", "Pendulum-v1", "--learning_starts", "100", "--eval_every", "200", "--eval_episodes", "1",
        "--hidden_size", "16", "--batch_size", "32"]


def test_resume_continues_at_the_saved_step(tmp_path, capsys):
    out = str(tmp_path / "run")
    train_expert.main(TINY + ["--total_steps", "300", "--out_dir", out])
    first = ptu.load_checkpoint(os.path.join(out, LATEST))
    assert first["step"] == 300 and first["buffer"]["size"] == 300

    train_expert.main(TINY + ["--total_steps", "500", "--out_dir", out])
    assert "Resuming" in capsys.readouterr().out
    second = ptu.load_checkpoint(os.path.join(out, LATEST))
    assert second["step"] == 500 and second["buffer"]["size"] == 500
    # the first 300 transitions are the ones saved before the restart
    torch.testing.assert_close(second["buffer"]["observations"][:300], first["buffer"]["observations"])
    assert os.path.exists(os.path.join(out, BEST))


class Crash(Exception):
    pass


def test_crashed_run_resumes_from_its_checkpoint(tmp_path, monkeypatch, capsys):
    """A crash at an arbitrary step (here inside the 120th update) loses only what came after
    the last checkpoint; the same command then resumes there and finishes."""
    out = str(tmp_path / "run")
    cmd = TINY + ["--total_steps", "250", "--out_dir", out]
    real_update, calls = SACAgent.update, []

    def crashing_update(self, batch, step):
        calls.append(1)
        if len(calls) == 120:
            raise Crash
        return real_update(self, batch, step)

    monkeypatch.setattr(SACAgent, "update", crashing_update)
    with pytest.raises(Crash):
        train_expert.main(cmd + ["--checkpoint_minutes", "0"])  # checkpoint after every step
    monkeypatch.setattr(SACAgent, "update", real_update)
    latest = os.path.join(out, LATEST)
    saved_step = ptu.load_checkpoint(latest)["step"]
    # updates start after step 100, so the 120th runs in step 220; the last checkpoint is step 219
    assert saved_step == 219

    capsys.readouterr()
    train_expert.main(cmd)
    assert f"Resuming {out} at step 219" in capsys.readouterr().out
    assert ptu.load_checkpoint(latest)["step"] == 250


def test_export_matches_deterministic_policy(tmp_path):
    from cs285.policies.loaded_gaussian_policy import LoadedGaussianPolicy

    agent = small_agent(low=-2.0, high=4.0)
    path = str(tmp_path / "expert.pkl")
    agent.export_expert(path)
    expert = LoadedGaussianPolicy(path)
    obs = np.random.default_rng(0).normal(size=(6, 3)).astype(np.float32)
    # the loader divides obs by (1 + 1e-6): relative differences ~1e-6
    np.testing.assert_allclose(expert.get_action(obs), agent.get_action(obs, deterministic=True), rtol=1e-4, atol=1e-5)


# ---- the PPO expert trainer (train_expert.py --algo ppo) --------------------------------------
PPO_TINY = ["--env", "Hopper-v4", "--algo", "ppo", "--num_envs", "4", "--ppo_batch_size", "256",
            "--ppo_minibatch_size", "128", "--ppo_epochs", "2", "--eval_every", "256", "--eval_episodes", "2"]


def test_ppo_expert_resumes_with_the_same_agent_and_exports_its_policy(tmp_path, capsys):
    from cs285.policies.loaded_gaussian_policy import LoadedGaussianPolicy

    out = str(tmp_path / "ppo")
    train_expert.main(PPO_TINY + ["--total_steps", "512", "--out_dir", out])
    first = ptu.load_checkpoint(os.path.join(out, LATEST))
    # the on-policy trainer counts iterations: 2 batches of 256 env steps
    assert first["step"] == 2 and first["total_envsteps"] == 512 and first["config"]["algo"] == "ppo"

    train_expert.main(PPO_TINY + ["--total_steps", "768", "--out_dir", out])
    assert "Resuming" in capsys.readouterr().out
    second = ptu.load_checkpoint(os.path.join(out, LATEST))
    assert second["step"] == 3 and second["total_envsteps"] == 768
    # the observation statistics kept counting across the restart: 768 rows merged, not 256
    assert float(second["agent"]["policy"]["obs_normalizer.count"]) == pytest.approx(768, abs=1e-3)

    pkl = str(tmp_path / "expert.pkl")
    train_expert.main(PPO_TINY + ["--out_dir", out, "--export", pkl])
    best = ptu.load_checkpoint(os.path.join(out, BEST))
    agent = train_expert.build_ppo_agent(best["config"], 11, 3)
    agent.load_state_dict(best["agent"])
    # observations within 3 std of the running mean, where the policy's ±10 clip of normalized obs is inactive
    stats = agent.policy.obs_normalizer
    z = np.random.default_rng(0).uniform(-3, 3, size=(8, 11))
    obs = (stats.mean.numpy() + z * np.sqrt(stats.var.numpy())).astype(np.float32)
    np.testing.assert_allclose(LoadedGaussianPolicy(pkl).get_action(obs),
                               agent.policy.snapshot().act(obs, None), rtol=1e-4, atol=1e-4)


def test_a_sac_run_dir_is_not_resumed_as_ppo(tmp_path):
    from cs285.infrastructure.errors import UserError

    out = str(tmp_path / "run")
    train_expert.main(TINY + ["--total_steps", "120", "--out_dir", out])
    with pytest.raises(UserError, match="algo"):
        train_expert.main(PPO_TINY + ["--total_steps", "512", "--out_dir", out])
