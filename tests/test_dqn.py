"""hw3 DQN: TD targets by hand, schedules, target copies, clipping, ε-greedy, configs, and a short run."""
import os
import pickle
import sys

import numpy as np
import pytest
import torch
from torch import nn

from cs285.env_configs import dqn_config
from cs285.agents.dqn_agent import EVAL_EPSILON, DQNAgent, EpsilonGreedyActor
from cs285.infrastructure.errors import UserError
from cs285.trainers.experiment_config import load_experiment
from cs285.infrastructure.replay_buffer import ReplayBuffer
from cs285.infrastructure.rollouts import Batch
from cs285.infrastructure.schedules import PiecewiseSchedule, constant
from cs285.networks.q_networks import NatureCNN, build_q_network

EXPERIMENTS = os.path.join(os.path.dirname(__file__), "..", "experiments", "dqn")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "scripts"))


class Table(nn.Module):
    """Q(s, ·) = rows[s] for observations (N, 1) holding the state's index."""

    def __init__(self, rows):
        super().__init__()
        self.rows = torch.tensor(rows, dtype=torch.float32)

    def forward(self, obs):
        return self.rows[obs[:, 0].long()]


def _random_batch(n=32, ob_dim=4, num_actions=2, seed=0, reward_scale=1.0) -> Batch:
    rng = np.random.default_rng(seed)
    return Batch(rng.standard_normal((n, ob_dim)).astype(np.float32), rng.integers(0, num_actions, n),
                 (reward_scale * rng.standard_normal(n)).astype(np.float32),
                 rng.standard_normal((n, ob_dim)).astype(np.float32), rng.random(n) < 0.2, rng.random(n) < 0.1)


# ---- the TD target ---------------------------------------------------------------------------

# Three transitions into s' = 0, 1, 2 with γ = 0.9 and two actions:
#   Q(s', ·)      = [1, 3], [5, 2], [0, 4]    online network: argmax a' = 1, 0, 1
#   Q_targ(s', ·) = [2, 10], [6, 7], [8, 1]   target network: argmax a' = 1, 1, 0
#   r = 1, 2, -1;  step 1 terminated, step 2 truncated (a time limit: it still bootstraps)
ONLINE, TARGET = [[1, 3], [5, 2], [0, 4]], [[2, 10], [6, 7], [8, 1]]
REWARDS, TERMINATED, TRUNCATED = [1.0, 2.0, -1.0], [False, True, False], [False, False, True]


@pytest.mark.parametrize("double_q, expected", [
    # y = r + 0.9 (1 - terminated) max Q_targ(s'): 1 + 0.9·10 = 10;  2 (terminated);  -1 + 0.9·8 = 6.2
    (False, [10.0, 2.0, 6.2]),
    # y = r + 0.9 (1 - terminated) Q_targ(s', argmax Q(s')): 1 + 0.9·10 = 10;  2;  -1 + 0.9·Q_targ(2, 1) = -0.1
    (True, [10.0, 2.0, -0.1]),
])
def test_td_target_by_hand(double_q, expected):
    agent = DQNAgent((1,), 2, discount=0.9, use_double_q=double_q)
    agent.critic, agent.target_critic = Table(ONLINE), Table(TARGET)
    y = agent.target_values(torch.tensor(REWARDS), torch.tensor([[0.0], [1.0], [2.0]]),
                            torch.tensor(TERMINATED))
    np.testing.assert_allclose(y.numpy(), expected, atol=1e-6)


@pytest.mark.parametrize("double_q", [False, True])
def test_update_regresses_on_the_target_it_reports(double_q):
    torch.manual_seed(0)
    agent = DQNAgent((4,), 2, use_double_q=double_q, discount=0.9)
    batch = _random_batch()
    obs, next_obs = torch.from_numpy(batch.observations), torch.from_numpy(batch.next_observations)
    with torch.no_grad():  # the target recomputed outside the agent, before its step
        q_next_target = agent.target_critic(next_obs)
        picker = agent.critic(next_obs) if double_q else q_next_target
        next_q = q_next_target.gather(1, picker.argmax(1, keepdim=True)).squeeze(1)
        y = torch.from_numpy(batch.rewards) + 0.9 * torch.from_numpy(~batch.terminated).float() * next_q
        q = agent.critic(obs).gather(1, torch.from_numpy(batch.actions)[:, None]).squeeze(1)
    info = agent.update(batch, step=1)
    assert set(info) == {"critic_loss", "q_values", "target_values", "grad_norm", "lr"}
    assert info["target_values"] == pytest.approx(y.mean().item(), abs=1e-5)
    assert info["q_values"] == pytest.approx(q.mean().item(), abs=1e-5)
    assert info["critic_loss"] == pytest.approx(((q - y) ** 2).mean().item(), rel=1e-5)
    assert info["lr"] == 1e-3


# ---- target copies, clipping, learning rate ------------------------------------------------

def test_target_network_is_copied_every_target_update_period_steps():
    torch.manual_seed(0)
    agent = DQNAgent((4,), 2, target_update_period=3)
    same = []
    for step in range(7):
        agent.update(_random_batch(seed=step), step)
        same.append(all(torch.equal(p, q) for p, q in zip(agent.critic.parameters(),
                                                           agent.target_critic.parameters())))
    assert same == [True, False, False, True, False, False, True]  # copied after the updates at 0, 3, 6


def test_gradient_norm_is_reported_before_the_clip_and_clipped():
    batch = _random_batch(reward_scale=100.0)  # big TD errors: a gradient norm far above 1e-3
    torch.manual_seed(0)
    clipped = DQNAgent((4,), 2, clip_grad_norm=1e-3)
    torch.manual_seed(0)
    free = DQNAgent((4,), 2)
    info, free_info = clipped.update(batch, 1), free.update(batch, 1)
    assert info["grad_norm"] == pytest.approx(free_info["grad_norm"], rel=1e-5) and info["grad_norm"] > 1.0
    # the step used the clipped gradient (norm 1e-3), the unclipped agent its full gradient
    assert clipped.flat_grad.norm().item() == pytest.approx(1e-3, rel=1e-3)
    assert free.flat_grad.norm().item() == pytest.approx(free_info["grad_norm"], rel=1e-5)


def test_flat_gradient_clip_by_hand():
    from cs285.infrastructure import pytorch_util as ptu

    # ‖(3, 4)‖ = 5 > 1: g · 1 / (5 + 1e-6) ≈ (0.6, 0.8); then ‖g‖ ≈ 1 < 10: unchanged; None: no clip
    grad = torch.tensor([3.0, 4.0])
    assert float(ptu.clip_flat_grad_norm_(grad, 1.0)) == 5.0  # the norm before the clip
    torch.testing.assert_close(grad, torch.tensor([0.6, 0.8]))
    before = grad.clone()
    assert float(ptu.clip_flat_grad_norm_(grad, 10.0)) == pytest.approx(1.0)
    assert float(ptu.clip_flat_grad_norm_(grad, None)) == pytest.approx(1.0)
    assert torch.equal(grad, before)


def test_huber_loss_by_hand():
    # errors d = q - y: 0.5 (squared part: ½ d² = 0.125) and -3 (linear part: |d| - ½ = 2.5): mean 1.3125
    agent = DQNAgent((1,), 2, discount=0.9, loss="huber")
    assert agent.td_loss(torch.tensor([1.5, 0.0]), torch.tensor([1.0, 3.0])).item() == pytest.approx(1.3125)
    with pytest.raises(ValueError, match="mse, huber"):
        DQNAgent((1,), 2, loss="l1")


def test_huber_update_reports_the_loss_of_its_step():
    torch.manual_seed(0)
    agent = DQNAgent((4,), 2, loss="huber", discount=0.9)
    batch = _random_batch(reward_scale=3.0)  # errors on both sides of 1
    obs, next_obs = torch.from_numpy(batch.observations), torch.from_numpy(batch.next_observations)
    with torch.no_grad():
        next_q = agent.target_critic(next_obs).max(1).values
        y = torch.from_numpy(batch.rewards) + 0.9 * torch.from_numpy(~batch.terminated).float() * next_q
        d = (agent.critic(obs).gather(1, torch.from_numpy(batch.actions)[:, None]).squeeze(1) - y).abs()
    assert (d < 1).any() and (d > 1).any()
    expected = torch.where(d < 1, 0.5 * d ** 2, d - 0.5).mean().item()
    assert agent.update(batch, step=1)["critic_loss"] == pytest.approx(expected, rel=1e-5)


def test_final_learning_rate_is_a_linear_decay_over_the_updates(tmp_path):
    path = tmp_path / "decay.yaml"
    path.write_text("base_config: dqn_basic\nenv_name: LunarLander-v2\nfinal_learning_rate: 1e-4\n")
    config = load_experiment(str(path), dqn_config.BASE_CONFIGS)
    lr = dqn_config.lr_schedule(config)  # 300000 - 20000 = 280000 updates, from 1e-3 to 1e-4
    assert [lr(0), lr(140_000), lr(280_000), lr(10**6)] == pytest.approx([1.0, 0.55, 0.1, 0.1])
    assert dqn_config.agent_kwargs(config)["loss"] == "mse"


def test_learning_rate_follows_the_multiplier_per_update():
    agent = DQNAgent((4,), 2, learning_rate=0.1, lr_multiplier=PiecewiseSchedule([(0, 1.0), (2, 0.5)], 0.5))
    lrs = [agent.update(_random_batch(seed=k), step=100 + k)["lr"] for k in range(4)]
    assert lrs == pytest.approx([0.1, 0.075, 0.05, 0.05])  # update n uses 0.1 · f(n): f = 1, 0.75, 0.5, 0.5


def test_state_dict_round_trip_restores_networks_optimizer_and_count(tmp_path):
    from cs285.infrastructure import pytorch_util as ptu

    torch.manual_seed(0)
    a = DQNAgent((4,), 2, target_update_period=1000)
    for k in range(3):
        a.update(_random_batch(seed=k), k + 1)
    path = str(tmp_path / "agent.pt")
    ptu.save_checkpoint(a.state_dict(), path)
    b = DQNAgent((4,), 2, target_update_period=1000)
    b.load_state_dict(ptu.load_checkpoint(path))  # weights only
    assert b.num_updates == 3
    batch = _random_batch(seed=9)
    assert a.update(batch, 4) == b.update(batch, 4)  # same weights, target and Adam moments: same step
    for p, q in zip(a.critic.parameters(), b.critic.parameters()):
        assert torch.equal(p, q)


# ---- ε-greedy ------------------------------------------------------------------------------

def test_epsilon_greedy_frequencies_under_a_fixed_rng():
    q = lambda obs: np.tile([0.0, 1.0, 5.0, 2.0], (len(obs), 1))  # noqa: E731  greedy action 2
    actor = EpsilonGreedyActor(q, 4, epsilon=0.3)
    actions = actor.act(np.zeros((20000, 1)), np.random.default_rng(0))
    assert actions.dtype == np.int64 and actions.shape == (20000,)
    freq = np.bincount(actions, minlength=4) / len(actions)
    # P(2) = 1 - ε + ε/4 = 0.775, P(other) = ε/4 = 0.075; the binomial std at n = 20000 is < 0.003
    np.testing.assert_allclose(freq, [0.075, 0.075, 0.775, 0.075], atol=0.01)
    again = actor.act(np.zeros((20000, 1)), np.random.default_rng(0))
    np.testing.assert_array_equal(actions, again)  # the rng alone decides
    assert (actor.act(np.zeros((50, 1)), None) == 2).all()  # no rng: greedy


def test_epsilon_one_never_asks_q_and_zero_is_greedy():
    def no_q(obs):
        raise AssertionError("Q evaluated at ε = 1")

    actions = EpsilonGreedyActor(no_q, 3, 1.0).act(np.zeros((3000, 2)), np.random.default_rng(1))
    np.testing.assert_allclose(np.bincount(actions) / 3000, [1 / 3] * 3, atol=0.03)
    q = lambda obs: np.tile([0.0, 1.0], (len(obs), 1))  # noqa: E731
    assert (EpsilonGreedyActor(q, 2, 0.0).act(np.zeros((100, 1)), np.random.default_rng(2)) == 1).all()


def test_frozen_actor_is_numpy_and_matches_the_live_one():
    torch.manual_seed(0)
    agent = DQNAgent((4,), 3)
    obs = np.random.default_rng(0).standard_normal((64, 4)).astype(np.float32)
    live, frozen = agent.actor(0.0), pickle.loads(pickle.dumps(agent.actor(EVAL_EPSILON, frozen=True)))
    np.testing.assert_array_equal(live.act(obs, None), frozen.act(obs, None))
    np.testing.assert_allclose(frozen.q_values(obs), live.q_values(obs), atol=1e-5)
    assert frozen.epsilon == 0.02 and EVAL_EPSILON == 0.02  # the course's get_action default


# ---- networks --------------------------------------------------------------------------------

def test_q_networks_shapes():
    mlp = build_q_network("mlp", (4,), 2, hidden_size=64, num_layers=2)
    assert mlp(torch.zeros(5, 4)).shape == (5, 2) and isinstance(mlp[1], nn.Tanh)  # build_mlp's tanh
    cnn = build_q_network("cnn", (4, 84, 84), 9)
    assert isinstance(cnn, NatureCNN)
    frames = torch.full((2, 4, 84, 84), 255, dtype=torch.uint8)
    assert cnn(frames).shape == (2, 9)
    # 32·4·8·8 + 32, 64·32·4·4 + 64, 64·64·3·3 + 64, 3136·512 + 512, 512·9 + 9
    assert sum(p.numel() for p in cnn.parameters()) == 8224 + 32832 + 36928 + 1606144 + 4617
    with pytest.raises(ValueError, match="cnn"):
        build_q_network("cnn", (4,), 2)


def test_cnn_agent_updates_on_uint8_frames():
    torch.manual_seed(0)
    agent = DQNAgent((4, 84, 84), 4, network="cnn", clip_grad_norm=10.0, use_double_q=True, adam_eps=1e-4)
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (3, 4, 84, 84), dtype=np.uint8)
    batch = Batch(frames, np.array([0, 1, 3]), np.ones(3, np.float32), frames[::-1].copy(),
                  np.array([False, True, False]), np.zeros(3, bool))
    info = agent.update(batch, 0)
    assert np.isfinite(list(info.values())).all()
    assert agent.actor(0.5).act(frames, rng).shape == (3,)


# ---- schedules -------------------------------------------------------------------------------

def test_piecewise_schedule_by_hand():
    eps = PiecewiseSchedule([(0, 1.0), (30_000, 0.02)], outside_value=0.02)
    # 15000 is halfway: 1 + 0.5 (0.02 - 1) = 0.51; the last endpoint itself is outside
    assert [eps(0), eps(15_000), eps(29_999), eps(30_000), eps(10**7)] == pytest.approx(
        [1.0, 0.51, 1 - 0.98 * 29_999 / 30_000, 0.02, 0.02])
    assert eps.value(15_000) == eps(15_000) and constant(3.0)(12) == 3.0
    with pytest.raises(ValueError, match="outside"):
        PiecewiseSchedule([(0, 1.0), (10, 0.0)])(10)
    with pytest.raises(ValueError, match="sorted"):
        PiecewiseSchedule([(10, 1.0), (0, 0.0)])


def test_the_courses_schedules():
    basic = load_experiment(os.path.join(EXPERIMENTS, "cartpole.yaml"), dqn_config.BASE_CONFIGS)
    eps = dqn_config.exploration_schedule(basic)  # 1 -> 0.02 over 10% of 300000 steps
    assert [eps(0), eps(15_000), eps(30_000), eps(299_999)] == pytest.approx([1.0, 0.51, 0.02, 0.02])
    assert dqn_config.lr_schedule(basic)(123_456) == 1.0
    atari = load_experiment(os.path.join(EXPERIMENTS, "mspacman.yaml"), dqn_config.BASE_CONFIGS)
    eps, lr = dqn_config.exploration_schedule(atari), dqn_config.lr_schedule(atari)
    # flat until 20000, then linear to total/2 = 500000: at 260000 halfway, 1 + 0.5 (0.01 - 1) = 0.505
    assert [eps(0), eps(20_000), eps(260_000), eps(500_000)] == pytest.approx([1.0, 1.0, 0.505, 0.01])
    assert [lr(0), lr(20_000), lr(260_000), lr(900_000)] == pytest.approx([1.0, 1.0, 0.75, 0.5])


# ---- configs ---------------------------------------------------------------------------------

def test_shipped_configs_give_the_course_defaults():
    load = lambda name: load_experiment(os.path.join(EXPERIMENTS, name), dqn_config.BASE_CONFIGS)  # noqa: E731
    cartpole = load("cartpole.yaml")
    assert cartpole == {"base_config": "dqn_basic", "env_name": "CartPole-v1", "exp_name": None, "hidden_size": 64,
                        "num_layers": 2, "learning_rate": 1e-3, "total_steps": 300_000, "discount": 0.99,
                        "target_update_period": 1000, "clip_grad_norm": None, "use_double_q": False,
                        "learning_starts": 20_000, "batch_size": 128,
                        "loss": "mse", "final_learning_rate": None}  # the project's two keys, the course's way
    assert dqn_config.log_name(cartpole) == "dqn_CartPole-v1_s64_l2_d0.99"
    lunar, double = load("lunarlander.yaml"), load("lunarlander_doubleq.yaml")
    assert lunar == {**cartpole, "env_name": "LunarLander-v2"} and double == {**lunar, "use_double_q": True}
    assert dqn_config.log_name(double) == "dqn_LunarLander-v2_s64_l2_d0.99_doubleq"
    pacman = load("mspacman.yaml")
    assert pacman == {"base_config": "dqn_atari", "env_name": "MsPacmanNoFrameskip-v0", "exp_name": None,
                      "learning_rate": 1e-4, "adam_eps": 1e-4, "total_steps": 1_000_000, "discount": 0.99,
                      "target_update_period": 2000, "clip_grad_norm": 10.0, "use_double_q": True,
                      "learning_starts": 20_000, "batch_size": 32}
    assert dqn_config.log_name(pacman) == "dqn_MsPacmanNoFrameskip-v0_d0.99_tu2000_lr0.0001_doubleq_clip10.0"
    kwargs = dqn_config.agent_kwargs(pacman)
    assert (kwargs["network"], kwargs["adam_eps"], kwargs["clip_grad_norm"]) == ("cnn", 1e-4, 10.0)


@pytest.mark.parametrize("text, words", [
    ("base_config: dqn_basic\nenv_name: CartPole-v1\nlearning_rat: 0.01\n", ["learning_rat", "'learning_rate'"]),
    ("base_config: dqn_basic\nenv_name: CartPole-v1\ntarget_update_periods: 5\n",
     ["target_update_periods", "'target_update_period'"]),
    ("base_config: dqn_basc\nenv_name: CartPole-v1\n", ["base_config", "'dqn_basic'"]),
    ("base_config: dqn_basic\nenv_name: CartPole-v1\nbatch_size: lots\n", ["batch_size", "int"]),
    ("base_config: dqn_basic\nenv_name: CartPole-v1\nuse_double_q: 1\n", ["use_double_q", "bool"]),
    ("base_config: dqn_atari\nenv_name: Pong\nadam_eps: small\n", ["adam_eps", "float"]),
    ("base_config: dqn_basic\nenv_name: CartPole-v1\nloss: hubr\n", ["loss", "mse, huber", "'huber'"]),
    ("base_config: dqn_basic\nenv_name: CartPole-v1\nfinal_learning_rate: -1\n", ["final_learning_rate"]),
])
def test_bad_config_is_one_line_naming_the_key(tmp_path, text, words):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(UserError) as e:
        load_experiment(str(path), dqn_config.BASE_CONFIGS)
    message = str(e.value)
    assert "\n" not in message and all(w in message for w in words), message


def test_scalar_configs_accept_yaml_spellings(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text("base_config: dqn_atari\nenv_name: Pong\nlearning_rate: 1e-4\nclip_grad_norm: null\n")
    config = load_experiment(str(path), dqn_config.BASE_CONFIGS)  # YAML 1.1 reads 1e-4 as a string
    assert config["learning_rate"] == 1e-4 and config["clip_grad_norm"] is None
    assert dqn_config.log_name(config) == "dqn_Pong_d0.99_tu2000_lr0.0001"  # no clip, no suffix


def test_replay_buffer_holds_discrete_actions():
    buffer = ReplayBuffer(10, (4,), (), action_dtype=np.int64)
    buffer.insert(_random_batch(n=3, num_actions=5))
    sample = buffer.sample(6, np.random.default_rng(0))
    assert buffer.actions.shape == (10,) and sample.actions.dtype == np.int64 and sample.actions.shape == (6,)


# ---- the script ------------------------------------------------------------------------------

def test_course_flags_and_defaults():
    run_hw3_dqn = pytest.importorskip("run_hw3_dqn")
    args = run_hw3_dqn.parse_args(["-cfg", "x.yaml"])
    assert (args.config_file, args.eval_interval, args.num_eval_trajectories, args.num_render_trajectories) == \
        ("x.yaml", 10000, 10, 0)
    assert (args.seed, args.no_gpu, args.which_gpu, args.log_interval) == ([1], False, 0, 1000)
    args = run_hw3_dqn.parse_args(["--config_file", "y.yaml", "-ei", "5", "-neval", "3", "-nvid", "1", "--seed", "2",
                                   "3", "-ngpu", "-g", "1", "--log_interval", "7"])
    assert (args.eval_interval, args.num_eval_trajectories, args.num_render_trajectories) == (5, 3, 1)
    assert (args.seed, args.no_gpu, args.which_gpu, args.log_interval) == ([2, 3], True, 1, 7)
    assert run_hw3_dqn.parse_args(["-cfg", "x.yaml", "-gpu_id", "2"]).which_gpu == 2


def test_smoke_cartpole_writes_the_courses_keys_and_log_dir(tmp_path, data_dir):
    import re

    from cs285.infrastructure.logger import read_metrics
    from cs285.trainers.run_config import is_finished

    run_hw3_dqn = pytest.importorskip("run_hw3_dqn")
    config = tmp_path / "smoke.yaml"
    config.write_text("base_config: dqn_basic\nenv_name: CartPole-v1\nexp_name: smoke\nhidden_size: 16\n"
                      "num_layers: 1\ntotal_steps: 300\nlearning_starts: 100\nbatch_size: 16\n"
                      "target_update_period: 50\n")
    args = run_hw3_dqn.parse_args(["-cfg", str(config), "-ei", "100", "-neval", "2", "--log_interval", "50"])
    last = run_hw3_dqn.run(args, seed=1)
    (run_dir,) = os.listdir(data_dir)
    assert re.fullmatch(r"hw3_dqn_smoke_CartPole-v1_s16_l1_d0\.99_\d\d-\d\d-\d{4}_\d\d-\d\d-\d\d", run_dir)
    log_dir = str(data_dir / run_dir)
    assert is_finished(log_dir) and os.path.exists(os.path.join(log_dir, "config.json"))
    rows = {r["step"]: r for r in read_metrics(log_dir)}
    update_keys = {"critic_loss", "q_values", "target_values", "grad_norm", "epsilon", "lr"}
    assert [s for s, r in rows.items() if update_keys <= set(r)] == [100, 150, 200, 250]
    eval_keys = {"eval_return", "eval_ep_len"} | {f"eval/{k}_{s}" for k in ("return", "ep_len")
                                                  for s in ("std", "max", "min")}
    # the course's schedule, and this project's final evaluation at the last step
    assert [s for s, r in rows.items() if eval_keys <= set(r)] == [0, 100, 200, 299]
    assert any("train_return" in r and "train_ep_len" in r for r in rows.values())
    # ε falls from 1 to 0.02 over the first 10% of 300 steps (30), so it is 0.02 at step 100
    assert rows[100]["epsilon"] == pytest.approx(0.02) and rows[100]["lr"] == pytest.approx(1e-3)
    assert set(last) == eval_keys


def test_lunarlander_v2_runs_v3():
    from cs285.envs.collector import Collector
    from cs285.envs.make import resolve_env_id

    assert resolve_env_id("LunarLander-v2") == "LunarLander-v3"  # the course's id; notes it once per process
    with Collector("LunarLander-v2", env_procs=1) as collector:
        assert collector.discrete and collector.action_space.n == 4 and collector.observation_space.shape == (8,)
