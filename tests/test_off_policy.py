"""The off-policy loop: what it logs when, the replay buffer it fills, resume, and finding the run to resume."""
import json
import os

import numpy as np
import pytest

from actors import ZerosActor
from cs285.envs.collector import Collector
from cs285.infrastructure.logger import read_metrics
from cs285.infrastructure.replay_buffer import ReplayBuffer
from cs285.infrastructure.utils import eval_logs
from cs285.trainers.off_policy import train_off_policy
from cs285.trainers.run import Run, resumable_logdir
from cs285.trainers.run_config import mark_finished, save_config


def test_eval_logs_are_the_courses_keys():
    paths = [{"reward": np.ones(n)} for n in (2, 4, 6)]
    logs = eval_logs(paths)
    # returns = lengths = 2, 4, 6: mean 4, std sqrt(8/3), max 6, min 2
    for k in ("return", "ep_len"):
        assert logs[f"eval_{k}"] == 4.0 and logs[f"eval/{k}_max"] == 6.0 and logs[f"eval/{k}_min"] == 2.0
        assert logs[f"eval/{k}_std"] == pytest.approx(np.sqrt(8 / 3))
    assert eval_logs(paths[:1]) == {"eval_return": 2.0, "eval_ep_len": 2.0}  # no spread of one episode


class CountingAgent:
    """Records the steps it is updated at; its state is that list."""

    def __init__(self):
        self.steps: list[int] = []

    def update(self, batch, step):
        assert len(batch.rewards) == 4 and batch.terminated.dtype == bool
        self.steps.append(step)
        return {"critic_loss": float(step)}

    def state_dict(self):
        return {"steps": list(self.steps)}

    def load_state_dict(self, state):
        self.steps = list(state["steps"])


def run(log_dir, total, agent, rng_seed=0, every_minutes=60.0, stop_at=None):
    buffer = ReplayBuffer(100, (4,), (), action_dtype=np.int64)
    with Collector("CartPole-v1", seed=0, ep_len=8) as collector, \
            Collector("CartPole-v1", env_procs=1, ep_len=8) as eval_collector, \
            Run(flags={"run": "test"}, log_dir=log_dir, checkpoint_minutes=every_minutes) as shell:
        def explore(step):
            if step == stop_at:
                shell.checkpoint.stop_requested = True  # as SIGTERM does
            return ZerosActor()

        last = train_off_policy(
            shell, agent, collector=collector, eval_collector=eval_collector, buffer=buffer, explore=explore,
            eval_actor=ZerosActor, total_steps=total, learning_starts=5, batch_size=4, eval_interval=10,
            num_eval_trajectories=2, log_interval=5, rng=np.random.default_rng(rng_seed),
            extra_logs=lambda step: {"epsilon": 0.5})
    return last, buffer


def test_the_loop_logs_updates_evaluations_and_episodes_when_the_course_does(tmp_path):
    agent = CountingAgent()
    last, buffer = run(str(tmp_path), 21, agent)
    assert agent.steps == list(range(5, 21)) and len(buffer) == 21
    rows = {r["step"]: r for r in read_metrics(str(tmp_path))}
    assert [s for s, r in rows.items() if "critic_loss" in r] == [5, 10, 15, 20]
    assert all(rows[s]["epsilon"] == 0.5 for s in (5, 10, 15, 20))
    assert [s for s, r in rows.items() if "eval_return" in r] == [0, 10, 20]
    # CartPole pushed left falls in about 8-10 steps; ep_len 8 cuts the rest: every episode is 8 steps or fewer
    episodes = [r for r in rows.values() if "train_return" in r]
    assert episodes and all(r["train_ep_len"] <= 8 and r["train_return"] == r["train_ep_len"] for r in episodes)
    assert last == {k: v for k, v in rows[20].items() if k.startswith("eval")}
    run(str(tmp_path / "b"), 16, CountingAgent())
    rows = {r["step"]: r for r in read_metrics(str(tmp_path / "b"))}
    assert [s for s, r in rows.items() if "eval_return" in r] == [0, 10, 15]  # and at the last step


def test_a_stopped_run_resumes_where_it_was(tmp_path):
    whole = str(tmp_path / "whole")
    run(whole, 21, CountingAgent())
    first = CountingAgent()
    run(str(tmp_path), 21, first, stop_at=12)  # stopped at the end of step 12
    assert first.steps == list(range(5, 13))
    second = CountingAgent()
    _, buffer = run(str(tmp_path), 21, second)
    # the agent's state came back (updates 5..12), then updates 13..20 ran; 13 + 8 steps in the buffer
    assert second.steps == list(range(5, 21)) and len(buffer) == 21
    # every logged step once; the updates' and evaluations' rows are those of the run never stopped (the
    # episode in progress at the stop restarts, so the train_return rows after it differ)
    rows, want = read_metrics(str(tmp_path)), read_metrics(whole)
    assert [r["step"] for r in rows] == sorted({r["step"] for r in rows})
    keep = lambda rs: [{k: v for k, v in r.items() if not k.startswith("train")} for r in rs]  # noqa: E731
    assert [r for r in keep(rows) if len(r) > 1] == [r for r in keep(want) if len(r) > 1]


def test_resumable_logdir_finds_the_unfinished_run_with_the_same_flags(tmp_path, monkeypatch):
    monkeypatch.setenv("CS285_DATA_DIR", str(tmp_path))
    flags = {"config_file": "x.yaml", "seed": 1}

    def make(name, saved_flags, checkpoint=True, done=False):
        d = tmp_path / name
        d.mkdir()
        save_config(str(d), saved_flags)
        if checkpoint:
            (d / "checkpoint_latest.pt").write_bytes(b"")
        if done:
            mark_finished(str(d))
        return str(d)

    make("hw3_dqn_a_01-01-2026_00-00-00", flags, done=True)
    make("hw3_dqn_a_01-01-2026_00-00-01", {**flags, "seed": 2})
    make("hw3_dqn_a_01-01-2026_00-00-02", flags, checkpoint=False)
    want = make("hw3_dqn_a_01-01-2026_00-00-03", flags)
    make("hw3_dqn_b_01-01-2026_00-00-04", flags)
    assert resumable_logdir("hw3_dqn_", "a", flags) == want
    assert resumable_logdir("hw3_dqn_", "a", {**flags, "seed": 3}) is None
    assert json.loads((tmp_path / os.path.basename(want) / "config.json").read_text())["flags"] == flags


def test_offline_updates_on_the_dataset_and_steps_the_env_only_to_evaluate_then_online(tmp_path):
    from cs285.envs.make import RandomActor
    from cs285.trainers.offline import train_offline

    rng = np.random.default_rng(0)
    with Collector("CartPole-v1", seed=3) as data_collector:
        dataset = ReplayBuffer(200, (4,), (), action_dtype=np.int64)
        dataset.insert(data_collector.steps(RandomActor(data_collector.action_space), 50, rng)[0])
    agent = CountingAgent()

    class CountingCollector(Collector):
        steps_taken = 0

        def steps(self, *args, **kwargs):
            CountingCollector.steps_taken += 1
            return super().steps(*args, **kwargs)

    with CountingCollector("CartPole-v1", seed=0, ep_len=8) as collector, \
            Collector("CartPole-v1", env_procs=1, ep_len=8) as eval_collector, \
            Run(flags={"run": "offline"}, log_dir=str(tmp_path)) as shell:
        last = train_offline(shell, agent, dataset=dataset, eval_collector=eval_collector, eval_actor=ZerosActor,
                             offline_steps=12, online_steps=6, batch_size=4, eval_interval=10,
                             num_eval_trajectories=1, log_interval=5, rng=rng, collector=collector,
                             explore=lambda step: ZerosActor())
    assert agent.steps == list(range(18))  # an update at every step, from step 0
    assert CountingCollector.steps_taken == 6 and len(dataset) == 56  # the env stepped online only
    rows = {r["step"]: r for r in read_metrics(str(tmp_path))}
    assert [s for s, r in rows.items() if "eval_return" in r] == [0, 10, 17]
    assert last["eval_return"] == rows[17]["eval_return"]


@pytest.mark.parametrize("script,yaml,start_key", [
    ("run_hw3_dqn", "base_config: dqn_basic\nenv_name: CartPole-v1\ntotal_steps: 300\n", "learning_starts"),
    ("run_hw3_sac", "base_config: sac\nenv_name: Pendulum-v1\ntotal_steps: 300\ntarget_update_period: 10\n",
     "training_starts"),
])
def test_a_budget_that_ends_before_learning_starts_is_refused_before_any_run_dir(tmp_path, data_dir, script, yaml,
                                                                                 start_key):
    import importlib
    import sys

    from cs285.infrastructure.errors import UserError

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "scripts"))
    module = importlib.import_module(script)
    cfg = tmp_path / "short.yaml"
    cfg.write_text(yaml + f"{start_key}: 200\n")
    with pytest.raises(UserError, match="ends at step 150 .* before learning starts at step 200"):
        module.run(module.parse_args(["-cfg", str(cfg), "--max_env_steps", "150"]), 1)
    assert not os.path.exists(data_dir)
