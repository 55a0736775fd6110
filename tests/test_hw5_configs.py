"""hw5's base configs: the course's keys and defaults, the 16 shipped YAML files, one-line refusals, run names,
and the agents they build."""
import os

import numpy as np
import pytest

from cs285.agents.awac_agent import AWACAgent
from cs285.agents.iql_agent import IQLAgent
from cs285.agents.random_agent import RandomAgent
from cs285.agents.rnd_agent import RNDAgent
from cs285.env_configs.hw5_configs import (HW5_BASE_CONFIGS, build_agent, check_hw5_config, exploration_epsilon,
                                           log_name)
from cs285.infrastructure.errors import UserError
from cs285.infrastructure.rollouts import Batch
from cs285.trainers.experiment_config import load_experiment

ROOT = os.path.join(os.path.dirname(__file__), "..")
FOLDERS = ("exploration", "offline", "finetuning")
SHIPPED = sorted(os.path.join(folder, name) for folder in FOLDERS
                 for name in os.listdir(os.path.join(ROOT, "experiments", folder)))
# the handout's ablations, which it asks the learner to write (report_hw5 runs them); the rest are the course's
ABLATIONS = sorted([*(f"offline/pointmass_medium_cql_{v}.yaml"
                      for v in ("alpha0", "alpha1", "alpha10", "1k", "5k", "20k")),
                    *(f"exploration/pointmass_medium_rnd_{k}.yaml" for k in ("1k", "5k", "20k")),
                    "offline/pointmass_hard_awac_temp1.yaml", "finetuning/pointmass_hard_cql_finetune_alpha0.1.yaml"])
COURSE = [path for path in SHIPPED if path not in ABLATIONS]

# the course's defaults (hw5/cs285/env_configs/*.py), the script keys left out
DQN = dict(exp_name=None, hidden_size=64, num_layers=2, learning_rate=1e-3, total_steps=1_000_000, discount=0.95,
           target_update_period=300, clip_grad_norm=None, use_double_q=True, batch_size=128)
AWAC_ACTOR = dict(temperature=1.0, actor_hidden_size=128, actor_num_layers=2, actor_learning_rate=3e-4)
NO_DOUBLE_Q = {k: v for k, v in DQN.items() if k != "use_double_q"}
COURSE_DEFAULTS = {
    "dqn": DQN,
    "random": dict(exp_name=None),
    "rnd": dict(DQN, total_steps=50_000, rnd_dim=5, rnd_network_hidden_size=400, rnd_network_num_layers=2,
                rnd_network_learning_rate=1e-3),
    "cql": dict(DQN, total_steps=50_000, cql_alpha=1.0, cql_temperature=1.0),
    "awac": dict(NO_DOUBLE_Q, total_steps=50_000, **AWAC_ACTOR),
    "iql": dict(NO_DOUBLE_Q, total_steps=50_000, learning_rate=3e-4, expectile=0.9, **AWAC_ACTOR),
}
SCRIPT_KEYS = dict(dataset_name=None, training_steps=None, offline_steps=None, use_reward=False)


def write(tmp_path, text: str) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return str(path)


def test_the_course_keys_and_defaults():
    for name, defaults in COURSE_DEFAULTS.items():
        table = HW5_BASE_CONFIGS[name]
        required = {"env_name"} | {"random": {"total_steps"}, "rnd": {"rnd_weight"}}.get(name, set())
        script = {"dataset_name": None} if name == "random" else SCRIPT_KEYS
        assert set(table) == set(defaults) | set(script) | required, name
        for key, value in {**defaults, **script}.items():
            if key in table and key not in required:
                assert table[key].default == value and type(table[key].default) is type(value), (name, key)


def test_every_numeric_key_has_a_range_holding_its_default():
    for name, table in HW5_BASE_CONFIGS.items():
        for key, p in table.items():
            if p.kind in (int, float):
                assert p.within is not None, (name, key)
                assert p.default is None or p.default in p.within, (name, key)


@pytest.mark.parametrize("path", SHIPPED)
def test_every_shipped_file_loads_and_builds_its_agent(path):
    full = os.path.join(ROOT, "experiments", path)
    with open(full) as f:
        first = f.readline()
    assert first.startswith(f"# hw5 (the course's hw5/experiments/{path})") if path in COURSE else \
        first.startswith("# ") and "pointmass_" in first
    config = check_hw5_config(load_experiment(full, HW5_BASE_CONFIGS), full)
    assert config["dataset_name"].startswith("pointmass_")
    agent = build_agent(config, (2,), 5)
    rng = np.random.default_rng(0)
    batch = Batch(rng.uniform(size=(4, 2)).astype(np.float32), rng.integers(0, 5, 4), np.zeros(4, np.float32),
                  rng.uniform(size=(4, 2)).astype(np.float32), np.zeros(4, bool), np.zeros(4, bool))
    logs = agent.update(batch, 1)
    assert all(np.isfinite(v) for v in logs.values())


def test_sixteen_files_as_the_course_ships_and_the_ablations():
    assert len(COURSE) == 16 and set(ABLATIONS) <= set(SHIPPED)


def test_configs_reach_the_agents():
    rnd = build_agent(load_experiment(os.path.join(ROOT, "experiments/exploration/pointmass_hard_rnd.yaml"),
                                      HW5_BASE_CONFIGS), (2,), 5)
    assert isinstance(rnd, RNDAgent) and rnd.rnd_weight == 1.0 and rnd.use_double_q and rnd.discount == 0.95
    assert rnd.rnd_net[0].out_features == 400 and rnd.rnd_net[-2].out_features == 5 and len(rnd.rnd_net) == 6
    iql = build_agent(load_experiment(os.path.join(ROOT, "experiments/offline/pointmass_hard_iql.yaml"),
                                      HW5_BASE_CONFIGS), (2,), 5)
    assert isinstance(iql, IQLAgent) and iql.expectile == 0.99 and iql.awr.temperature == 10.0
    assert iql.learning_rate == 3e-4 and iql.value_optimizer.param_groups[0]["lr"] == 3e-4
    assert iql.awr.optimizer.param_groups[0]["lr"] == 3e-4 and iql.target_update_period == 300
    awac = build_agent(load_experiment(os.path.join(ROOT, "experiments/offline/pointmass_hard_awac.yaml"),
                                       HW5_BASE_CONFIGS), (2,), 5)
    assert isinstance(awac, AWACAgent) and not awac.use_double_q and awac.awr.policy.logits_net[0].out_features == 128
    random = load_experiment(os.path.join(ROOT, "experiments/exploration/pointmass_easy_random.yaml"), HW5_BASE_CONFIGS)
    assert isinstance(build_agent(random, (2,), 5), RandomAgent) and exploration_epsilon(random) is None
    assert exploration_epsilon(load_experiment(os.path.join(ROOT, "experiments/offline/pointmass_easy_cql.yaml"),
                                               HW5_BASE_CONFIGS)) == 0.3


@pytest.mark.parametrize("path, name", [
    ("exploration/pointmass_easy_random.yaml", "PointmassEasy-v0_random"),
    ("exploration/pointmass_medium_rnd.yaml", "PointmassMedium-v0_rnd1.0"),
    ("offline/pointmass_easy_dqn.yaml", "pointmass_easy_dqn_PointmassEasy-v0_s64_l2_d0.95_doubleq"),
    ("offline/pointmass_hard_cql.yaml", "PointmassHard-v0_cql0.1"),
    ("offline/pointmass_hard_awac.yaml", "PointmassHard-v0_awac10.0"),
    ("offline/pointmass_medium_iql.yaml", "PointmassMedium-v0_iql0.99_temp10.0"),
    ("finetuning/pointmass_hard_cql_finetune.yaml", "PointmassHard-v0_cql1.0"),
])
def test_the_course_run_names(path, name):
    assert log_name(load_experiment(os.path.join(ROOT, "experiments", path), HW5_BASE_CONFIGS)) == name


@pytest.mark.parametrize("text, message", [
    ("base_config: cql\nenv_name: E\ncql_alpah: 0.1\n", "unknown key 'cql_alpah'; did you mean 'cql_alpha'?"),
    ("base_config: awac\nenv_name: E\nuse_double_q: true\n", "unknown key 'use_double_q'"),
    ("base_config: random\nenv_name: E\ndataset_name: d\ntotal_steps: 10\nbatch_size: 4\n", "unknown key 'batch_size'"),
    ("base_config: rnd\nenv_name: E\n", "rnd_weight must be set"),
    ("base_config: random\nenv_name: E\ndataset_name: d\n", "total_steps must be set"),
    ("base_config: iql\nenv_name: E\nexpectile: 1.0\n", "expectile must be a finite number in (0, 1) (got 1.0)"),
    ("base_config: awac\nenv_name: E\ntemperature: 0\n", "temperature must be a finite number > 0 (got 0.0)"),
    ("base_config: cql\nenv_name: E\ncql_alpha: -1\n", "cql_alpha must be a finite number >= 0 (got -1.0)"),
    ("base_config: dqn\nenv_name: E\ntraining_steps: 0\n", "training_steps must be an integer >= 1 (got 0)"),
    ("base_config: dqn\nenv_name: E\ndiscount: 1.5\n", "discount must be a finite number in [0, 1] (got 1.5)"),
    ("base_config: dqn_basic\nenv_name: E\n", "base_config must be one of dqn, random, rnd, cql, awac, iql"),
])
def test_one_line_refusals(tmp_path, text, message):
    with pytest.raises(UserError) as error:
        load_experiment(write(tmp_path, text), HW5_BASE_CONFIGS)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_offline_steps_within_total_steps(tmp_path):
    path = write(tmp_path, "base_config: cql\nenv_name: E\ntotal_steps: 100\noffline_steps: 101\n")
    with pytest.raises(UserError, match=r"offline_steps \(101\) must be at most total_steps \(100\)"):
        check_hw5_config(load_experiment(path, HW5_BASE_CONFIGS), path)
