import os

import numpy as np
import pytest
import torch

os.environ.setdefault("MUJOCO_GL", "egl")
torch.set_num_threads(1)


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """Run dirs go to a temporary folder, not the repository's data/."""
    d = tmp_path / "data"
    monkeypatch.setenv("CS285_DATA_DIR", str(d))
    return d


@pytest.fixture
def hopper_expert(tmp_path):
    """A small random-weight Hopper expert in the course schema and 2 short trajectories of it."""
    from cs285.infrastructure import utils
    from cs285.envs.make import VecEnv
    from cs285.infrastructure.expert_data import save_expert_data
    from cs285.policies.loaded_gaussian_policy import LoadedGaussianPolicy, save_expert_policy

    rng = np.random.default_rng(0)
    ob, h, ac = 11, 8, 3
    policy_path, data_path = tmp_path / "Hopper.pkl", tmp_path / "expert_data_Hopper-v4.pkl"
    save_expert_policy(
        policy_path, obs_mean=np.zeros(ob), obs_meansq=np.ones(ob),
        hidden=[(rng.normal(0, 0.5, (ob, h)), np.zeros(h)), (rng.normal(0, 0.5, (h, h)), np.zeros(h))],
        out=(rng.normal(0, 0.3, (h, ac)), np.zeros(ac)), logstd=np.zeros(ac), nonlin="tanh",
    )
    expert = LoadedGaussianPolicy(policy_path)
    paths = utils.sample_n_trajectories(VecEnv("Hopper-v4", 2, seed=0, ep_len=50), expert, 2, deterministic=True)
    save_expert_data(data_path, paths)
    return str(policy_path), str(data_path)
