"""hw3's SAC variants on the one SACAgent: backups (min, mean, doubleq; terminated vs truncated),
the tanh-squashed entropy, REINFORCE vs reparameterized gradients, soft vs hard targets, the
shipped YAML configs and their errors, and a tiny run of scripts/run_hw3_sac.py."""
import glob
import math
import os
import sys

import numpy as np
import pytest
import torch

from cs285.agents.sac_agent import SACAgent, q_backup, squashed_gaussian_log_prob
from cs285.env_configs.sac_config import BASE_CONFIGS, HW4_BASE_CONFIGS, agent_kwargs, check_sac_config, log_name
from cs285.infrastructure.errors import UserError
from cs285.trainers.experiment_config import load_experiment
from cs285.infrastructure.rollouts import Batch
from cs285.networks.policies import gaussian_log_prob

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = sorted(glob.glob(os.path.join(ROOT, "experiments", "sac", "*.yaml")))
torch.set_num_threads(1)


def agent_with(ac_dim=2, low=-1.0, high=1.0, seed=0, **kw) -> SACAgent:
    torch.manual_seed(seed)
    return SACAgent(3, ac_dim, np.full(ac_dim, low), np.full(ac_dim, high), hidden_size=16, **kw)


def constant_targets(agent: SACAgent, values) -> None:
    """Q'_i(s, a) = values[i] everywhere: zero weights, constant last-layer biases."""
    with torch.no_grad():
        for w in agent.critic_target.weights:
            w.zero_()
        for b in agent.critic_target.biases[:-1]:
            b.zero_()
        agent.critic_target.biases[-1].copy_(torch.tensor(values, dtype=torch.float32).view(-1, 1, 1))


# ---- backups ---------------------------------------------------------------------------------
def test_q_backup_by_hand():
    next_qs = torch.tensor([[1.0, 5.0], [3.0, 2.0]])  # (critics, batch)
    torch.testing.assert_close(q_backup(next_qs, "min"), torch.tensor([1.0, 2.0]))
    torch.testing.assert_close(q_backup(next_qs, "mean"), torch.tensor([2.0, 3.5]))
    # doubleq: critic A's target is Q'_B's row and vice versa
    torch.testing.assert_close(q_backup(next_qs, "doubleq"), torch.tensor([[3.0, 2.0], [1.0, 5.0]]))
    torch.testing.assert_close(q_backup(next_qs[:1], "mean"), torch.tensor([1.0, 5.0]))  # one critic: itself
    with pytest.raises(ValueError, match="2 critics"):
        q_backup(torch.zeros(3, 2), "doubleq")


@pytest.mark.parametrize("backup, extra, expected", [
    # Q'_A = 3, Q'_B = 5, alpha = 0.5, log pi(a'|s') = -1 so -alpha log pi = +0.5; r = 1, gamma = 0.99
    # min: V' = 3 + 0.5 = 3.5: terminated y = 1, truncated y = 1 + 0.99 * 3.5 = 4.465
    ("min", {}, [1.0, 4.465]),
    # mean: V' = 4 + 0.5 = 4.5: truncated y = 1 + 0.99 * 4.5 = 5.455
    ("mean", {}, [1.0, 5.455]),
    # doubleq: A bootstraps from Q'_B: 1 + 0.99 * 5.5 = 6.445; B from Q'_A: 4.465
    ("doubleq", {}, [[1.0, 6.445], [1.0, 4.465]]),
    # no entropy in the backup: 1 + 0.99 * 3 = 3.97
    ("min", {"backup_entropy": False}, [1.0, 3.97]),
    ("min", {"use_entropy_bonus": False}, [1.0, 3.97]),
])
def test_backups_stop_only_at_termination(backup, extra, expected):
    agent = agent_with(num_critic_networks=2, target_critic_backup_type=backup, temperature=0.5, **extra)
    constant_targets(agent, [3.0, 5.0])
    agent.sample_action = lambda obs: (torch.zeros(len(obs), 2), torch.full((len(obs),), -1.0))
    # step 0 terminated, step 1 truncated by the time limit (its truncated flag plays no part)
    y = agent.critic_target_values(torch.ones(2), torch.ones(2, 3), torch.tensor([True, False]))
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-6)


def test_doubleq_needs_two_critics():
    with pytest.raises(ValueError, match="num_critic_networks 2"):
        agent_with(num_critic_networks=3, target_critic_backup_type="doubleq")


# ---- entropy ---------------------------------------------------------------------------------
def test_tanh_jacobian_makes_a_logistic_pre_squash_uniform():
    """u ~ Logistic(0, 1/2), density 2 e^{-2u} / (1 + e^{-2u})^2 = (1 - tanh(u)^2) / 2, gives
    p = tanh(u) ~ U[-1, 1]: log p_u(u) - log(1 - tanh(u)^2) = log 1/2 at every u, so the entropy
    -E[log pi(p)] is log 2 = 0.693 exactly; our Jacobian term must reproduce that pointwise."""
    u = torch.linspace(-12, 12, 2001, dtype=torch.float64)[:, None]  # (points, 1)
    log_logistic = math.log(2.0) - 2 * u - 2 * torch.nn.functional.softplus(-2 * u)
    zeros = torch.zeros_like(u)
    # squashed - gaussian log prob = -log(1 - tanh(u)^2), the Jacobian term alone
    neg_log_jac = squashed_gaussian_log_prob(u, zeros, zeros) - gaussian_log_prob(u, zeros, zeros)
    log_p = log_logistic.squeeze(-1) + neg_log_jac
    torch.testing.assert_close(log_p, torch.full_like(log_p, -math.log(2.0)), rtol=0, atol=1e-9)


def tanh_gaussian_entropy(std: float, n: int = 200_001) -> float:
    """-int p(a) log p(a) da of a = tanh(u), u ~ N(0, std^2), by quadrature over u."""
    u = torch.linspace(-12 * std, 12 * std, n, dtype=torch.float64)
    du = float(u[1] - u[0])
    log_pu = -0.5 * (u / std) ** 2 - math.log(std) - 0.5 * math.log(2 * math.pi)
    log_pa = log_pu - torch.log1p(-torch.tanh(u) ** 2 + 1e-300)
    return float(-(log_pu.exp() * log_pa).sum() * du)


def test_entropy_estimate_of_a_squashed_gaussian():
    """The update's entropy, -mean log pi(a|s) over reparameterized samples, converges to the
    quadrature entropy of tanh(N(0, std^2)); the best std gets just under log 2, the uniform's."""
    torch.manual_seed(0)
    std = 0.85
    u = std * torch.randn(400_000, 1, dtype=torch.float64)
    estimate = -squashed_gaussian_log_prob(u, torch.zeros(1, 1, dtype=torch.float64),
                                           torch.full((1, 1), math.log(std), dtype=torch.float64)).mean()
    exact = tanh_gaussian_entropy(std)
    assert float(estimate) == pytest.approx(exact, abs=5e-3)
    best = max(tanh_gaussian_entropy(s, 20_001) for s in np.linspace(0.5, 1.2, 15))
    assert math.log(2.0) - 0.03 < best < math.log(2.0)


@pytest.mark.parametrize("gradient_type", ["reparametrize", "reinforce"])
def test_an_entropy_only_actor_climbs_to_log_2(gradient_type):
    """The handout's check (4.1.2): with Q = 0 the actor loss is the entropy bonus alone, and the
    entropy rises to about log 2 = 0.693 in [-1, 1] units (here Pendulum's bounds [-2, 2], rescaled);
    a tanh-squashed Gaussian tops out just below it (test above)."""
    torch.manual_seed(0)
    agent = SACAgent(3, 1, np.array([-2.0]), np.array([2.0]), hidden_size=32, target_tau=None, target_update_period=1000,
                     actor_learning_rate=3e-3, activation="tanh", std_transform="softplus", temperature=0.1,
                     num_critic_networks=1, target_critic_backup_type="mean", actor_q_reduction="mean",
                     actor_gradient_type=gradient_type, rescale_actions=True)
    agent._actor_q = lambda obs, a: torch.zeros(a.shape[0])
    obs = torch.randn(256, 3)
    entropies = []
    for _ in range(150):
        loss, log_probs = agent.actor_loss(obs)
        agent.actor_optimizer.zero_grad()
        loss.backward()
        agent.actor_optimizer.step()
        entropies.append(-float(log_probs.detach().mean()))
    assert entropies[0] < 0.6  # at init std ~0.64 and |mu| ~0.14: entropy 0.55
    assert 0.65 < np.mean(entropies[-50:]) < math.log(2.0) + 0.01  # 0.68 after 100-150 steps


def test_rescaled_log_probs_are_in_unit_action_units():
    """On bounds [-2, 2], log pi in [-1, 1] units (hw3) = log pi in env units + log 2 per dimension."""
    obs = torch.randn(5, 3)
    env_units, unit = agent_with(1, -2.0, 2.0), agent_with(1, -2.0, 2.0, rescale_actions=True)
    torch.manual_seed(3)
    a_env, lp_env = env_units.sample_action(obs)
    torch.manual_seed(3)
    a_unit, lp_unit = unit.sample_action(obs)
    torch.testing.assert_close(a_unit * 2.0, a_env)
    torch.testing.assert_close(lp_unit, lp_env + math.log(2.0))
    # the env still gets env units, and the buffer's env actions map back to [-1, 1]
    x = obs.numpy()
    np.testing.assert_allclose(unit.act(x, None), env_units.act(x, None), rtol=1e-6)
    torch.testing.assert_close(unit._from_env_action(torch.as_tensor(unit.act(x, None))),
                               torch.as_tensor(unit.act(x, None)) / 2.0)


# ---- actor gradients -------------------------------------------------------------------------
def actor_grads(gradient_type: str, use_tanh: bool, mu0=0.3, std0=0.5, c=-0.2, batch=4096, samples=64):
    """d actor_loss / d(mu, log std) for Q(s, a) = -(a - c)^2, a 1-D Gaussian policy whose (mu, log std)
    are the biases of a linear actor fed zero observations, alpha = 0."""
    agent = SACAgent(3, 1, np.array([-1.0]), np.array([1.0]), n_layers=0, use_entropy_bonus=False,
                     actor_gradient_type=gradient_type, use_tanh=use_tanh,
                     num_actor_samples=samples if gradient_type == "reinforce" else 1,
                     rescale_actions=True)
    with torch.no_grad():
        agent.actor[0].weight.zero_()
        agent.actor[0].bias.copy_(torch.tensor([mu0, math.log(std0)]))
    agent._actor_q = lambda obs, a: -(a - c).pow(2).sum(-1)
    loss, _ = agent.actor_loss(torch.zeros(batch, 3))
    loss.backward()
    return agent.actor[0].bias.grad.numpy()


def test_reinforce_and_reparametrize_agree_with_the_closed_form():
    """E[Q] = -((mu - c)^2 + std^2) for a ~ N(mu, std^2), so the loss -E[Q] has
    d/dmu = 2 (mu - c) = 2 (0.3 + 0.2) = 1.0 and d/dlog std = 2 std^2 = 2 * 0.25 = 0.5."""
    torch.manual_seed(0)
    np.testing.assert_allclose(actor_grads("reparametrize", False), [1.0, 0.5], atol=0.03)
    np.testing.assert_allclose(actor_grads("reinforce", False), [1.0, 0.5], atol=0.03)


def test_reinforce_and_reparametrize_agree_through_tanh():
    torch.manual_seed(1)
    np.testing.assert_allclose(actor_grads("reinforce", True), actor_grads("reparametrize", True), atol=0.03)


# ---- target updates --------------------------------------------------------------------------
def replay_batch(n=32, ac_dim=2, seed=0) -> Batch:
    rng = np.random.default_rng(seed)
    return Batch(rng.normal(size=(n, 3)).astype(np.float32), rng.uniform(-1, 1, (n, ac_dim)).astype(np.float32),
                 rng.normal(size=n).astype(np.float32), rng.normal(size=(n, 3)).astype(np.float32),
                 rng.random(n) < 0.1, np.zeros(n, bool))


def flat(module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in module.parameters()])


def test_soft_target_update_is_polyak_averaging():
    agent = agent_with(target_tau=0.1)
    with torch.no_grad():  # targets apart from the critics, so the average shows
        for p in agent.critic_target.parameters():
            p.add_(1.0)
    before = flat(agent.critic_target)
    agent.update(replay_batch(), 0)
    # theta' <- theta' + 0.1 (theta - theta'), with the critics after their step
    torch.testing.assert_close(flat(agent.critic_target), before + 0.1 * (flat(agent.critic) - before))


def test_hard_target_update_copies_every_period():
    agent = agent_with(target_tau=None, target_update_period=3)
    initial = flat(agent.critic_target)
    agent.update(replay_batch(), step=1)  # 1 % 3 != 0: no copy
    torch.testing.assert_close(flat(agent.critic_target), initial)
    agent.update(replay_batch(), step=3)
    torch.testing.assert_close(flat(agent.critic_target), flat(agent.critic))
    with pytest.raises(ValueError, match="exactly one"):
        agent_with(target_update_period=3)  # target_tau's default 0.005 as well


@pytest.mark.parametrize("kw", [
    dict(actor_gradient_type="reinforce", num_actor_samples=3, num_critic_networks=1, target_critic_backup_type="mean"),
    dict(num_critic_networks=2, target_critic_backup_type="doubleq", num_critic_updates=2, temperature=0.1),
    dict(num_critic_networks=3, target_critic_backup_type="min", actor_fixed_std=0.3, use_tanh=False,
         rescale_actions=True, std_transform="softplus", activation="tanh"),
])
def test_each_variant_updates_and_logs_the_course_keys(kw):
    agent = agent_with(**kw)
    info = agent.update(replay_batch(), 0)
    expected = {"actor_loss", "entropy", "critic_loss", "q_values", "target_values", "actor_lr", "critic_lr"}
    assert expected <= set(info) and all(math.isfinite(v) for v in info.values())
    assert ("temperature" in info) == ("temperature" not in kw)  # auto-tuned unless fixed
    a = agent.act(np.zeros((4, 3), np.float32), np.random.default_rng(0))
    assert a.shape == (4, 2) and np.all(np.abs(a) <= 1.0)


# ---- configs ---------------------------------------------------------------------------------
def test_all_shipped_configs_load_and_build():
    tables = {**BASE_CONFIGS, **HW4_BASE_CONFIGS}
    configs = [check_sac_config(load_experiment(path, tables), path) for path in CONFIGS]
    # hw3's twelve and hw4's halfcheetah_clipq_hw4.yaml, with its rollout lengths 1 and 10
    assert [c["base_config"] for c in configs].count("sac") == 12 and len(configs) == 15
    hw4 = {os.path.basename(p): c for p, c in zip(CONFIGS, configs) if c["base_config"] == "sac_hw4"}
    course = {k: v for k, v in hw4["halfcheetah_clipq_hw4.yaml"].items() if k != "mbpo_rollout_length"}
    for length in (1, 10):
        config = hw4[f"halfcheetah_clipq_hw4_rollout{length}.yaml"]
        assert config == {**course, "mbpo_rollout_length": length}
    for config in configs:
        agent = SACAgent(5, 2, -np.ones(2), np.ones(2), **agent_kwargs(config))
        assert agent.num_critic_networks == config["num_critic_networks"]
        assert agent.backup_type == config["target_critic_backup_type"]
        assert (agent.target_update_period is None) == config["use_soft_target_update"]


def test_log_names_are_the_courses():
    def name(file):
        path = os.path.join(ROOT, "experiments", "sac", file)
        return log_name(load_experiment(path, BASE_CONFIGS))
    assert name("sanity_pendulum.yaml") == \
        "sanity_pendulum_Pendulum-v1_reinforce_s128_l3_alr0.0003_clr0.0003_b128_d0.99_t0.1_htu1000"
    assert name("halfcheetah_clipq.yaml") == \
        "clipq_HalfCheetah-v4_reparametrize_s128_l3_alr0.0003_clr0.0003_b128_d0.99_t0.05_stu0.005_min"


@pytest.mark.parametrize("line, message", [
    ("temprature: 0.2", "unknown key 'temprature'; did you mean 'temperature'?"),
    ("target_critic_backup_type: clipq", "must be one of doubleq, min, mean"),
    ("num_critic_networks: two", "num_critic_networks must be int"),
])
def test_config_mistakes_are_one_line_errors(tmp_path, line, message):
    path = tmp_path / "bad.yaml"
    path.write_text(f"base_config: sac\nenv_name: Pendulum-v1\ntarget_update_period: 1000\n{line}\n")
    with pytest.raises(UserError, match=message) as e:
        load_experiment(str(path), BASE_CONFIGS)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("lines, message", [
    ("", "target_update_period"),  # neither hard nor soft target updates
    ("target_update_period: 1000\nactor_gradient_type: reparametrize\nnum_actor_samples: 4\n", "num_actor_samples"),
    ("target_update_period: 1000\nnum_critic_networks: 3\ntarget_critic_backup_type: doubleq\n", "doubleq"),
])
def test_configs_that_do_not_fit_together_are_refused(tmp_path, lines, message):
    path = tmp_path / "bad.yaml"
    path.write_text("base_config: sac\nenv_name: Pendulum-v1\n" + lines)
    with pytest.raises(UserError, match=message):
        check_sac_config(load_experiment(str(path), BASE_CONFIGS), str(path))


# ---- the script ------------------------------------------------------------------------------
def test_run_hw3_sac_tiny(tmp_path, monkeypatch):
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    import run_hw3_sac

    from cs285.infrastructure.logger import read_metrics

    monkeypatch.setenv("CS285_DATA_DIR", str(tmp_path))
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text("base_config: sac\nenv_name: Pendulum-v1\nexp_name: tiny\ntotal_steps: 300\nrandom_steps: 50\n"
                   "training_starts: 100\nhidden_size: 16\nbatch_size: 32\ntarget_update_period: 100\n"
                   "num_critic_networks: 2\ntarget_critic_backup_type: min\n")
    run_hw3_sac.run(run_hw3_sac.parse_args(["-cfg", str(cfg), "-ei", "200", "-neval", "2", "--log_interval", "100"]),
                    seed=1)
    [run_dir] = glob.glob(str(tmp_path / "hw3_sac_tiny_Pendulum-v1_reinforce_s16_l3_*_htu100_min_*"))
    rows = read_metrics(run_dir)
    keys = set().union(*rows)
    assert {"eval_return", "eval_ep_len", "eval/return_std", "train_return", "train_ep_len", "actor_loss",
            "entropy", "critic_loss", "q_values", "target_values", "actor_lr", "critic_lr"} <= keys


def test_max_env_steps_ends_the_run_early_with_the_config_unchanged(tmp_path, monkeypatch):
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    import run_hw3_sac

    from cs285.infrastructure.logger import read_metrics
    from cs285.trainers.run_config import is_finished, load_config
    from cs285.reporting.grading import load_run

    monkeypatch.setenv("CS285_DATA_DIR", str(tmp_path))
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text("base_config: sac\nenv_name: Pendulum-v1\nexp_name: cut\ntotal_steps: 100000\nrandom_steps: 50\n"
                   "training_starts: 100\nhidden_size: 16\nbatch_size: 32\ntarget_update_period: 100\n")
    run_hw3_sac.run(run_hw3_sac.parse_args(["-cfg", str(cfg), "-ei", "100", "-neval", "1", "--log_interval", "50",
                                            "--max_env_steps", "250"]), seed=1)
    [run_dir] = glob.glob(str(tmp_path / "hw3_sac_cut_*"))
    # steps 0..249: evaluations at 0, 100, 200 and at the last step, 249 (the final policy's number)
    assert max(r["step"] for r in read_metrics(run_dir)) == 249
    assert [r["step"] for r in read_metrics(run_dir) if "eval_return" in r] == [0, 100, 200, 249]
    config = load_config(run_dir)
    assert config["experiment"]["total_steps"] == 100000 and config["flags"]["max_env_steps"] == 250
    assert is_finished(run_dir) and load_run(run_dir).status == "ok"
    from cs285.infrastructure.errors import UserError

    with pytest.raises(UserError, match="--max_env_steps must be at least 1"):
        run_hw3_sac.parse_args(["-cfg", str(cfg), "--max_env_steps", "0"])
