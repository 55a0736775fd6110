"""hw4's configs: the ``mpc`` base config and ``sac_hw4`` against the course's defaults, the shipped
YAML files against the course's values key by key, the course's run names, and one-line errors."""
import glob
import os

import numpy as np
import pytest
import yaml

from cs285.agents.sac_agent import SACAgent
from cs285.env_configs import mpc_config, sac_config
from cs285.env_configs.mpc_config import BASE_CONFIGS, check_mpc_config, ep_len, log_name
from cs285.infrastructure.errors import UserError
from cs285.trainers.experiment_config import load_experiment

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MPC_DIR = os.path.join(ROOT, "experiments", "mpc")
HW4_SAC_FILE = os.path.join(ROOT, "experiments", "sac", "halfcheetah_clipq_hw4.yaml")

# the course's mpc_config signature (hw4/cs285/env_configs/mpc_config.py), read by hand
COURSE_MPC_DEFAULTS = dict(
    hidden_size=128, num_layers=3, learning_rate=1e-3, ensemble_size=3, mpc_horizon=10, mpc_strategy="random",
    mpc_num_action_sequences=1000, cem_num_iters=None, cem_num_elites=None, cem_alpha=None,
    initial_batch_size=20000, batch_size=8000, train_batch_size=512, num_iters=20, replay_buffer_capacity=1000000,
    num_agent_train_steps_per_iter=20, num_eval_trajectories=10)
# the course's hw4 sac_config signature (hw4/cs285/env_configs/sac_config.py)
COURSE_HW4_SAC_DEFAULTS = dict(
    num_agent_train_steps_per_iter=1000, batch_size=256, replay_buffer_capacity=1000000, mbpo_rollout_length=1,
    hidden_size=128, num_layers=3, actor_learning_rate=3e-4, critic_learning_rate=3e-4, discount=0.99,
    use_soft_target_update=False, target_update_period=None, soft_target_update_rate=None,
    actor_gradient_type="reinforce", num_actor_samples=1, num_critic_updates=1, num_critic_networks=1,
    target_critic_backup_type="mean", backup_entropy=True, use_entropy_bonus=True, temperature=0.1,
    actor_fixed_std=None, use_tanh=True)

# every key each course file sets, with its value (hw4/experiments/mpc/*.yaml)
TWO_BY_250 = dict(base_config="mpc", num_layers=2, hidden_size=250)
COURSE_MPC_FILES = {
    "halfcheetah_0_iter.yaml": dict(
        base_config="mpc", env_name="cheetah-cs285-v0", exp_name="cheetah_0iter", num_layers=1, hidden_size=32,
        num_iters=1, initial_batch_size=20000, num_agent_train_steps_per_iter=500, num_eval_trajectories=0),
    "obstacles_1_iter.yaml": dict(
        TWO_BY_250, env_name="obstacles-cs285-v0", exp_name="obstacles_single", num_iters=1,
        initial_batch_size=5000, num_agent_train_steps_per_iter=20, num_eval_trajectories=20, mpc_horizon=10,
        mpc_strategy="random"),
    "obstacles_multi_iter.yaml": dict(
        TWO_BY_250, env_name="obstacles-cs285-v0", exp_name="obstacles_multi", num_iters=12,
        initial_batch_size=5000, batch_size=1000, num_agent_train_steps_per_iter=20, num_eval_trajectories=20,
        mpc_horizon=10, mpc_strategy="random"),
    "reacher_multi_iter.yaml": dict(
        TWO_BY_250, env_name="reacher-cs285-v0", exp_name="reacher_multi", num_iters=15, initial_batch_size=5000,
        batch_size=5000, num_agent_train_steps_per_iter=1000, num_eval_trajectories=10, mpc_horizon=10,
        mpc_strategy="random"),
    "reacher_ablation.yaml": dict(
        TWO_BY_250, env_name="reacher-cs285-v0", exp_name="reacher_ablation", num_iters=15,
        initial_batch_size=5000, batch_size=800, num_agent_train_steps_per_iter=1000, num_eval_trajectories=10,
        mpc_strategy="random", mpc_num_action_sequences=1000, mpc_horizon=10, ensemble_size=3),
    "halfcheetah_multi_iter.yaml": dict(
        TWO_BY_250, env_name="cheetah-cs285-v0", exp_name="cheetah_multi", num_iters=15, initial_batch_size=5000,
        batch_size=5000, num_agent_train_steps_per_iter=1500, num_eval_trajectories=10, mpc_horizon=15,
        mpc_strategy="random"),
    "halfcheetah_cem.yaml": dict(
        TWO_BY_250, env_name="cheetah-cs285-v0", exp_name="cheetah_cem", num_iters=5, initial_batch_size=5000,
        batch_size=5000, num_agent_train_steps_per_iter=1500, num_eval_trajectories=10, mpc_horizon=15,
        mpc_strategy="cem", cem_num_iters=4, cem_num_elites=5, cem_alpha=1.0),
    "halfcheetah_mbpo.yaml": dict(
        TWO_BY_250, env_name="cheetah-cs285-v0", exp_name="cheetah_mbpo", num_iters=10, initial_batch_size=5000,
        batch_size=5000, num_agent_train_steps_per_iter=1500, num_eval_trajectories=10),
}
# hw4/experiments/sac/halfcheetah_clipq.yaml (batch_size: 128, then batch_size: 1500 further down)
COURSE_HW4_CLIPQ = dict(
    num_critic_networks=2, target_critic_backup_type="min", batch_size=1500, discount=0.99,
    use_soft_target_update=True, soft_target_update_rate=0.005, actor_gradient_type="reparametrize",
    num_critic_updates=1, use_entropy_bonus=True, temperature=0.05, num_agent_train_steps_per_iter=5000,
    mbpo_rollout_length=0)


def load_mpc(path: str) -> dict:
    return check_mpc_config(load_experiment(path, BASE_CONFIGS), path)


# ---- base configs ----------------------------------------------------------------------------
def test_mpc_defaults_are_the_courses():
    table = mpc_config.MPC_CONFIG
    assert {key: p.default for key, p in table.items() if key not in ("env_name", "exp_name")} == COURSE_MPC_DEFAULTS
    assert list(table)[:2] == ["env_name", "exp_name"]  # both required, as in the course
    # the course's hard-coded episode lengths (its only envs)
    assert mpc_config.EP_LENS == {"cheetah-cs285-v0": 500, "reacher-cs285-v0": 200, "obstacles-cs285-v0": 100}


def test_hw4_sac_defaults_are_the_courses_and_hw3s_base_is_untouched():
    assert {key: p.default for key, p in sac_config.SAC_HW4_CONFIG.items()} == COURSE_HW4_SAC_DEFAULTS
    assert list(sac_config.BASE_CONFIGS) == ["sac"] and sac_config.SAC_CONFIG["batch_size"].default == 128


# ---- shipped files ---------------------------------------------------------------------------
# the project's files beside the course's: the settings the handout asks for but ships no file of
# (file: the course file it moves away from, and what it changes)
PROJECT_VARIANTS = {
    "halfcheetah_cem_2iters.yaml": ("halfcheetah_cem.yaml", {"cem_num_iters": 2}),
    **{f"reacher_ablation_{tag}.yaml": ("reacher_ablation.yaml", {key: value, "exp_name": f"reacher_ablation_{tag}"})
       for tag, key, value in [("ens1", "ensemble_size", 1), ("ens5", "ensemble_size", 5),
                               ("numseq500", "mpc_num_action_sequences", 500),
                               ("numseq2000", "mpc_num_action_sequences", 2000),
                               ("horizon5", "mpc_horizon", 5), ("horizon20", "mpc_horizon", 20)]},
}


def test_the_eight_course_files_and_the_projects_variants_are_shipped():
    shipped = sorted(os.path.basename(p) for p in glob.glob(os.path.join(MPC_DIR, "*.yaml")))
    assert shipped == sorted([*COURSE_MPC_FILES, *PROJECT_VARIANTS])


@pytest.mark.parametrize("name", sorted(PROJECT_VARIANTS))
def test_each_variant_moves_only_its_knob(name):
    course, changes = PROJECT_VARIANTS[name]
    assert load_mpc(os.path.join(MPC_DIR, name)) == {**load_mpc(os.path.join(MPC_DIR, course)), **changes}


@pytest.mark.parametrize("name", sorted(COURSE_MPC_FILES))
def test_each_mpc_file_resolves_to_the_courses_values(name):
    path = os.path.join(MPC_DIR, name)
    with open(path) as f:
        first = f.readline()
    assert first.startswith("# hw4 "), first
    expected = COURSE_MPC_FILES[name]
    # the keys the file sets are the course file's, and every other key keeps the course's default
    with open(path) as f:
        assert set(yaml.safe_load(f)) == set(expected)
    config = load_mpc(path)
    assert config == {**COURSE_MPC_DEFAULTS, **expected}
    assert ep_len(config) == {"cheetah-cs285-v0": 500, "reacher-cs285-v0": 200, "obstacles-cs285-v0": 100}[
        expected["env_name"]]


def test_the_hw4_sac_file_resolves_to_the_courses_values():
    with open(HW4_SAC_FILE) as f:
        assert f.readline().startswith("# hw4 ")
    with open(HW4_SAC_FILE) as f:
        assert set(yaml.safe_load(f)) == {"base_config", *COURSE_HW4_CLIPQ}
    config = sac_config.check_sac_config(load_experiment(HW4_SAC_FILE, sac_config.HW4_BASE_CONFIGS), HW4_SAC_FILE)
    assert config == {"base_config": "sac_hw4", **COURSE_HW4_SAC_DEFAULTS, **COURSE_HW4_CLIPQ}
    agent = SACAgent(5, 2, -np.ones(2), np.ones(2), **sac_config.agent_kwargs(config))
    assert (agent.num_critic_networks, agent.backup_type) == (2, "min")


def test_a_repeated_yaml_key_keeps_its_last_value():
    """Why halfcheetah_clipq_hw4.yaml says 1500: PyYAML, which the course's make_config used, keeps the last."""
    assert yaml.safe_load("batch_size: 128\nbatch_size: 1500\n") == {"batch_size": 1500}


def test_hw3s_script_refuses_the_hw4_sac_file_in_one_line():
    with pytest.raises(UserError, match=r"base_config must be one of sac \(got 'sac_hw4'") as e:
        load_experiment(HW4_SAC_FILE, sac_config.BASE_CONFIGS)
    assert "\n" not in str(e.value)


# ---- run names -------------------------------------------------------------------------------
def test_log_names_are_the_courses():
    def name(file):
        return log_name(load_mpc(os.path.join(MPC_DIR, file)))
    # f"{env_name}_{exp_name}_l{num_layers}_h{hidden_size}_mpc{mpc_strategy}_horizon{mpc_horizon}"
    # f"_actionseq{mpc_num_action_sequences}", plus f"_cem_iters{cem_num_iters}" for cem
    assert name("obstacles_multi_iter.yaml") == \
        "obstacles-cs285-v0_obstacles_multi_l2_h250_mpcrandom_horizon10_actionseq1000"
    assert name("halfcheetah_cem.yaml") == \
        "cheetah-cs285-v0_cheetah_cem_l2_h250_mpccem_horizon15_actionseq1000_cem_iters4"
    assert name("halfcheetah_0_iter.yaml") == \
        "cheetah-cs285-v0_cheetah_0iter_l1_h32_mpcrandom_horizon10_actionseq1000"


# ---- mistakes --------------------------------------------------------------------------------
HEAD = "base_config: mpc\nenv_name: obstacles-cs285-v0\nexp_name: t\n"


@pytest.mark.parametrize("lines, words", [
    ("mpc_horizen: 5", "unknown key 'mpc_horizen'; did you mean 'mpc_horizon'?"),
    ("mpc_strategy: shooting", "mpc_strategy must be one of random, cem (got 'shooting')"),
    ("mpc_num_action_sequences: 0", "mpc_num_action_sequences must be an integer >= 1 (got 0)"),
    ("ensemble_size: -2", "ensemble_size must be an integer >= 1 (got -2)"),
    ("learning_rate: .nan", "learning_rate must be a finite number > 0 (got nan)"),
    ("mpc_strategy: cem\ncem_num_iters: 4\ncem_num_elites: 5\ncem_alpha: 0",
     "cem_alpha must be a finite number in (0, 1] (got 0.0)"),
    ("ep_len: 100", "unknown key 'ep_len'"),  # the course fixes it per env
    ("mbpo_rollout_length: 1", "unknown key 'mbpo_rollout_length'"),  # hw4's SAC key, not mpc's
])
def test_bad_keys_and_values_are_one_line_errors(tmp_path, lines, words):
    path = tmp_path / "bad.yaml"
    path.write_text(HEAD + lines + "\n")
    with pytest.raises(UserError) as e:
        load_mpc(str(path))
    message = str(e.value)
    assert "\n" not in message and message.startswith(f"{path} (base_config mpc): ") and words in message, message


@pytest.mark.parametrize("text, words", [
    ("base_config: mpc\nenv_name: HalfCheetah-v4\nexp_name: t\n", "env_name must be one of cheetah-cs285-v0"),
    ("base_config: mpc\nenv_name: reacher-cs285-v0\n", "exp_name must be set"),
    (HEAD + "mpc_strategy: cem\ncem_num_iters: 4\n", "mpc_strategy cem needs cem_num_elites, cem_alpha"),
    (HEAD + "mpc_strategy: cem\ncem_num_iters: 4\ncem_num_elites: 50\ncem_alpha: 1\nmpc_num_action_sequences: 20\n",
     "cem_num_elites must be <= mpc_num_action_sequences (20) (got 50)"),
    (HEAD + "cem_num_iters: 4\n", "cem_num_iters is only read with mpc_strategy cem (got mpc_strategy random)"),
])
def test_keys_that_do_not_fit_together_are_one_line_errors(tmp_path, text, words):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(UserError) as e:
        load_mpc(str(path))
    assert "\n" not in str(e.value) and words in str(e.value), str(e.value)


def test_agent_kwargs_are_the_courses_agent_kwargs():
    config = load_mpc(os.path.join(MPC_DIR, "halfcheetah_cem.yaml"))
    assert mpc_config.agent_kwargs(config) == dict(
        ensemble_size=3, mpc_horizon=15, mpc_strategy="cem", mpc_num_action_sequences=1000, cem_num_iters=4,
        cem_num_elites=5, cem_alpha=1.0, hidden_size=250, num_layers=2, learning_rate=1e-3)


def test_agent_kwargs_build_the_model_based_agent():
    import numpy as np

    from cs285.agents.model_based_agent import ModelBasedAgent

    config = load_mpc(os.path.join(MPC_DIR, "halfcheetah_cem.yaml"))
    agent = ModelBasedAgent(4, 2, -np.ones(2), np.ones(2), lambda o, a: (np.zeros(len(o)), np.zeros(len(o))),
                            **mpc_config.agent_kwargs(config))
    assert (agent.ensemble_size, agent.mpc_strategy, agent.cem_num_iters) == (3, "cem", 4)
