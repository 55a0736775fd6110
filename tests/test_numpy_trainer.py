"""NumpyBCTrainer against torch: the loss, the hand-written gradient, Adam, and BCAgent's choice of path.

Each test builds a small float32 ``MLPPolicy`` with a non-zero logstd, runs
the NumPy step and torch autograd / torch.optim.Adam on the same weights and
batches, and compares: gradients to 1e-5 of their largest entry, weights to
1e-5 after 1 and 50 Adam steps.
"""
import copy

import numpy as np
import pytest
import torch

from cs285.agents.bc_agent import PROGRESS_EVERY, BCAgent
from cs285.agents.numpy_trainer import NumpyBCTrainer
from cs285.infrastructure import pytorch_util as ptu
from cs285.infrastructure.rollouts import Batch
from cs285.networks.policies import MLPPolicy

OB_DIM, AC_DIM, SIZE, BATCH, N_DATA = 5, 3, 16, 20, 200
LR = 5e-3


def _policy(n_layers: int = 2, activation: str = "tanh") -> MLPPolicy:
    torch.manual_seed(0)
    policy = MLPPolicy(AC_DIM, OB_DIM, False, n_layers, SIZE)
    policy.mean_net = ptu.build_mlp(OB_DIM, AC_DIM, n_layers, SIZE, activation=activation)
    with torch.no_grad():
        policy.logstd.copy_(torch.tensor([-0.5, 0.1, 0.4]))
    return policy


def _data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(N_DATA, OB_DIM)).astype(np.float32),
            rng.normal(size=(N_DATA, AC_DIM)).astype(np.float32))


def _bc_batch(obs: np.ndarray, actions: np.ndarray) -> Batch:
    """What BCAgent.update reads (observations, actions), with placeholder rewards and ends."""
    n = len(obs)
    return Batch(obs, actions, np.zeros(n), obs, np.zeros(n, bool), np.zeros(n, bool))


def _torch_loss(policy: MLPPolicy, obs: np.ndarray, actions: np.ndarray) -> torch.Tensor:
    log_probs, _ = policy.log_prob_and_entropy(torch.from_numpy(obs), torch.from_numpy(actions))
    return -log_probs.mean()


def _weights(policy: MLPPolicy) -> dict[str, np.ndarray]:
    return {name: p.detach().numpy().copy() for name, p in policy.named_parameters()}


def _assert_weights_close(a: MLPPolicy, b: MLPPolicy, atol: float) -> None:
    wa, wb = _weights(a), _weights(b)
    for name in wa:
        np.testing.assert_allclose(wa[name], wb[name], rtol=0, atol=atol, err_msg=name)


@pytest.mark.parametrize("activation", ["tanh", "relu", "identity"])
@pytest.mark.parametrize("n_layers", [0, 1, 2])
def test_loss_and_gradient_match_autograd(n_layers, activation):
    policy = _policy(n_layers, activation)
    obs, actions = _data()
    trainer = NumpyBCTrainer(policy, LR)
    trainer.load_from_policy()
    trainer.compute_grads(obs[:BATCH], actions[:BATCH])
    loss = _torch_loss(policy, obs[:BATCH], actions[:BATCH])
    loss.backward()
    assert trainer.loss() == pytest.approx(loss.item(), rel=1e-6)
    pairs = [(layer.grad_weight, layer.linear.weight.grad) for layer in trainer.layers]
    pairs += [(layer.grad_bias, layer.linear.bias.grad) for layer in trainer.layers]
    pairs.append((trainer.grad_logstd, policy.logstd.grad))
    for ours, theirs in pairs:
        theirs = theirs.numpy()
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-5 * np.abs(theirs).max())


@pytest.mark.parametrize("n_steps", [1, 50])
def test_adam_steps_match_torch_adam(n_steps):
    policy = _policy()
    reference = copy.deepcopy(policy)
    optimizer = ptu.adam(reference.parameters(), LR)
    obs, actions = _data()
    index_batches = np.random.default_rng(1).integers(0, N_DATA, (n_steps, BATCH))
    loss = NumpyBCTrainer(policy, LR).train_steps(obs, actions, index_batches)
    for idx in index_batches:
        reference_loss = _torch_loss(reference, obs[idx], actions[idx])
        optimizer.zero_grad()
        reference_loss.backward()
        optimizer.step()
    assert loss == pytest.approx(reference_loss.item(), rel=1e-5)
    _assert_weights_close(policy, reference, atol=1e-5)
    assert not np.allclose(_weights(policy)["logstd"], [-0.5, 0.1, 0.4])  # it did train


def test_weights_go_back_to_the_policy_and_are_read_from_it_each_call():
    policy = _policy()
    trainer = NumpyBCTrainer(policy, LR)
    obs, actions = _data()
    batches = np.arange(BATCH)[None]
    trainer.train_steps(obs, actions, batches)
    np.testing.assert_array_equal(policy.logstd.detach().numpy(), trainer.logstd)
    np.testing.assert_array_equal(policy.mean_net[0].weight.detach().numpy(), trainer.layers[0].weight)
    with torch.no_grad():
        policy.mean_net[0].bias.fill_(7.0)  # an edit to the torch module between calls
    trainer.train_steps(obs, actions, batches)
    assert np.abs(policy.mean_net[0].bias.detach().numpy() - 7.0).max() < 2 * LR  # one Adam step moves ≤ ~lr


def test_unsupported_activation_is_refused():
    with pytest.raises(TypeError, match="Tanh, ReLU, Identity"):
        NumpyBCTrainer(_policy(activation="selu"), LR)


def test_cpu_continuous_agent_trains_in_numpy_and_matches_torch_path():
    obs, actions = _data()
    index_batches = np.random.default_rng(2).integers(0, N_DATA, (2 * PROGRESS_EVERY + 5, BATCH))
    torch.manual_seed(0)
    fast = BCAgent(OB_DIM, AC_DIM, False, 2, SIZE, LR)
    slow = copy.deepcopy(fast)
    slow.numpy_trainer = None  # force the torch path on the CPU
    assert fast.numpy_trainer is not None
    done: list[int] = []
    fast_log = fast.train_steps(obs, actions, index_batches, progress=done.append)
    slow_log = {}
    for idx in index_batches:
        slow_log = slow.update(_bc_batch(obs[idx], actions[idx]), 0)
    assert done == [PROGRESS_EVERY, PROGRESS_EVERY, 5]
    assert fast_log["Training Loss"] == pytest.approx(slow_log["Training Loss"], rel=1e-4)
    _assert_weights_close(fast.policy, slow.policy, atol=1e-4)
    assert fast._optimizer is None  # the NumPy path never builds a torch optimizer


def test_update_is_one_step_on_the_whole_batch_and_a_deepcopy_trains_alike():
    obs, actions = _data()
    torch.manual_seed(0)
    a = BCAgent(OB_DIM, AC_DIM, False, 1, SIZE, LR)
    a.train_steps(obs, actions, np.random.default_rng(3).integers(0, N_DATA, (5, BATCH)))  # Adam moments ≠ 0
    b = copy.deepcopy(a)
    log = a.update(_bc_batch(obs[:BATCH], actions[:BATCH]), 0)
    assert log == b.train_steps(obs, actions, np.arange(BATCH)[None])
    _assert_weights_close(a.policy, b.policy, atol=0)


def test_discrete_agent_uses_torch():
    rng = np.random.default_rng(0)
    obs, actions = rng.normal(size=(N_DATA, OB_DIM)).astype(np.float32), rng.integers(0, 4, N_DATA)
    torch.manual_seed(0)
    agent = BCAgent(OB_DIM, 4, True, 1, SIZE, LR)
    assert agent.numpy_trainer is None
    before = _weights(agent.policy)
    log = agent.train_steps(obs, actions, rng.integers(0, N_DATA, (3, BATCH)))
    assert np.isfinite(log["Training Loss"]) and agent._optimizer is not None
    assert not np.allclose(before["logits_net.0.weight"], _weights(agent.policy)["logits_net.0.weight"])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_agent_uses_torch():
    ptu.set_device("cuda")
    try:
        agent = BCAgent(OB_DIM, AC_DIM, False, 1, SIZE, LR)
        obs, actions = _data()
        log = agent.train_steps(obs, actions, np.random.default_rng(0).integers(0, N_DATA, (3, BATCH)))
    finally:
        ptu.set_device("cpu")
    assert agent.numpy_trainer is None and np.isfinite(log["Training Loss"])
