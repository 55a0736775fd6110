"""On a CUDA machine (scripts/gpu_check.sh runs these with ``-m cuda``): the agents and the collector
give the CPU's numbers up to float rounding. Skipped where torch sees no GPU."""
import numpy as np
import pytest
import torch

from cs285.infrastructure import pytorch_util as ptu
from cs285.envs.collector import Collector
from cs285.infrastructure.rollouts import Batch

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")]


@pytest.fixture
def on_device(request):
    """Build under ``ptu.device`` = the parameter ("cpu" or "cuda:0"), then put the CPU back."""
    ptu.device = torch.device(request.param)
    yield request.param
    ptu.device = torch.device("cpu")


def pg_update(on_device):
    from cs285.agents.pg_agent import PGAgent

    torch.manual_seed(0)
    agent = PGAgent(4, 2, True, 2, 32, 1e-2, use_reward_to_go=True, use_baseline=True, gae_lambda=0.95)
    with Collector("CartPole-v1", env_procs=1) as collector:
        paths = collector.episodes(agent.policy, n_episodes=3, seed=1)
    info = agent.update(Batch.from_paths(paths), 0)
    return paths, info, agent.policy.snapshot().act(paths[0]["observation"], None)


@pytest.mark.parametrize("on_device", ["cuda:0"], indirect=True)
def test_pg_update_on_cuda_matches_the_cpu(on_device):
    gpu_paths, gpu_info, gpu_actions = pg_update(on_device)
    ptu.device = torch.device("cpu")
    cpu_paths, cpu_info, cpu_actions = pg_update("cpu")
    np.testing.assert_array_equal(gpu_paths[0]["observation"], cpu_paths[0]["observation"])  # same weights at start
    for key in cpu_info:
        assert gpu_info[key] == pytest.approx(cpu_info[key], rel=1e-4, abs=1e-5), key
    np.testing.assert_array_equal(gpu_actions, cpu_actions)


@pytest.mark.parametrize("on_device", ["cuda:0"], indirect=True)
def test_sac_acts_and_updates_on_cuda(on_device):
    from cs285.agents.sac_agent import SACAgent

    agent = SACAgent(3, 1, np.array([-2.0]), np.array([2.0]), hidden_size=32)
    rng = np.random.default_rng(0)
    with Collector("Pendulum-v1", env_procs=1) as collector:
        batch, _ = collector.steps(agent, 64, rng)
    info = agent.update(batch, 0)
    assert all(np.isfinite(v) for v in info.values())
    assert next(agent.actor.parameters()).device.type == "cuda"
