"""hw3 and hw4 configs: a value outside its key's range is one UserError line, raised before any run dir is made."""
import math
import os
import subprocess
import sys

import pytest

from cs285.env_configs import dqn_config, mpc_config, sac_config
from cs285.infrastructure.errors import UserError
from cs285.trainers.experiment_config import AT_LEAST_ONE, FRACTION, POSITIVE, RATE, Range, load_experiment

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

import run_hw3_dqn  # noqa: E402
import run_hw3_sac  # noqa: E402

DQN_HEAD = "base_config: dqn_basic\nenv_name: CartPole-v1\ntotal_steps: 300\nlearning_starts: 50\n"
SAC_HEAD = "base_config: sac\nenv_name: Pendulum-v1\ntotal_steps: 300\ntraining_starts: 50\n"

# (file head, script, offending line, words the message must hold); one row per case class
CASES = [
    # non-positive integers: step counts, sizes, intervals
    (DQN_HEAD, run_hw3_dqn, "total_steps: -5", "total_steps must be an integer >= 1 (got -5)"),
    (DQN_HEAD, run_hw3_dqn, "total_steps: 0", "total_steps must be an integer >= 1 (got 0)"),
    (DQN_HEAD, run_hw3_dqn, "batch_size: 0", "batch_size must be an integer >= 1 (got 0)"),
    (DQN_HEAD, run_hw3_dqn, "target_update_period: 0", "target_update_period must be an integer >= 1 (got 0)"),
    (SAC_HEAD, run_hw3_sac, "batch_size: 0", "batch_size must be an integer >= 1 (got 0)"),
    (SAC_HEAD, run_hw3_sac, "target_update_period: -1", "target_update_period must be an integer >= 1 (got -1)"),
    # NaN / inf rates (YAML spells NaN .nan; "nan" is a string that float() reads)
    (DQN_HEAD, run_hw3_dqn, "learning_rate: nan", "learning_rate must be a finite number > 0 (got nan)"),
    (DQN_HEAD, run_hw3_dqn, "learning_rate: .inf", "learning_rate must be a finite number > 0 (got inf)"),
    (SAC_HEAD, run_hw3_sac, "critic_learning_rate: .nan", "critic_learning_rate must be a finite number > 0 (got nan)"),
    # negative rates
    (DQN_HEAD, run_hw3_dqn, "learning_rate: -0.001", "learning_rate must be a finite number > 0 (got -0.001)"),
    (SAC_HEAD, run_hw3_sac, "actor_learning_rate: -3e-4", "actor_learning_rate must be a finite number > 0 (got -0.0003)"),
    (SAC_HEAD, run_hw3_sac, "temperature: -0.1", "temperature must be a finite number >= 0 (got -0.1)"),
    # fractions out of range
    (DQN_HEAD, run_hw3_dqn, "discount: 1.5", "discount must be a finite number in [0, 1] (got 1.5)"),
    (SAC_HEAD, run_hw3_sac, "discount: -0.1", "discount must be a finite number in [0, 1] (got -0.1)"),
    (SAC_HEAD, run_hw3_sac, "use_soft_target_update: true\nsoft_target_update_rate: 0",
     "soft_target_update_rate must be a finite number in (0, 1] (got 0.0)"),
]


@pytest.mark.parametrize("head, script, line, words", CASES)
def test_bad_value_is_one_line_before_any_run_dir(tmp_path, data_dir, head, script, line, words):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(head + ("target_update_period: 100\n" if script is run_hw3_sac and "target_update" not in line
                           else "") + line + "\n")
    with pytest.raises(UserError) as err:
        script.run(script.parse_args(["-cfg", str(cfg), "-ngpu"]), seed=1)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(str(cfg)) and words in message, message
    assert not data_dir.exists() or not os.listdir(data_dir)


def test_the_script_prints_one_error_line_and_exits_2(tmp_path, data_dir):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(DQN_HEAD + "batch_size: 0\n")
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "run_hw3_dqn.py"), "-cfg", str(cfg)],
                          capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": ROOT})
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"error: {cfg} (base_config dqn_basic): batch_size must be an integer >= 1 (got 0)"]
    assert not data_dir.exists() or not os.listdir(data_dir)


def test_every_numeric_key_has_a_range():
    """No step count, size, interval or rate slips through unchecked (booleans and names have none)."""
    tables = [*dqn_config.BASE_CONFIGS.values(), *sac_config.BASE_CONFIGS.values(),
              *sac_config.HW4_BASE_CONFIGS.values(), *mpc_config.BASE_CONFIGS.values()]
    for table in tables:
        for key, p in table.items():
            if p.kind in (int, float):
                assert p.within is not None, key
            if p.default is not None and p.within is not None:
                assert p.default in p.within, key  # the course's defaults are allowed


def test_ranges_and_their_words():
    assert (1 in AT_LEAST_ONE, 0 in AT_LEAST_ONE, str(AT_LEAST_ONE)) == (True, False, ">= 1")
    assert (1e-9 in POSITIVE, 0.0 in POSITIVE, math.inf in POSITIVE, math.nan in POSITIVE) == (True, False, False, False)
    assert (0.0 in FRACTION, 1.0 in FRACTION, 1.01 in FRACTION, str(FRACTION)) == (True, True, False, "in [0, 1]")
    assert (0.0 in RATE, 1.0 in RATE, str(RATE)) == (False, True, "in (0, 1]")
    assert str(Range(0, 1, high_open=True)) == "in [0, 1)"


def test_shipped_configs_still_load():
    sac_tables = {**sac_config.BASE_CONFIGS, **sac_config.HW4_BASE_CONFIGS}  # hw3's and hw4's
    for folder, tables in (("dqn", dqn_config.BASE_CONFIGS), ("sac", sac_tables), ("mpc", mpc_config.BASE_CONFIGS)):
        directory = os.path.join(ROOT, "experiments", folder)
        for name in sorted(os.listdir(directory)):
            load_experiment(os.path.join(directory, name), tables)
