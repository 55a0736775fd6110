"""hw5's agents: RND's bonus, the CQL penalty, AWAC's target and weights, IQL's expectile loss and
targets, each by hand or in closed form; each update lowers its loss on a tiny fixed problem.
(The state_dict round trip of each agent is a row of tests/test_agent_protocol.py.)"""
import math

import numpy as np
import pytest
import torch
from torch import distributions, nn

from cs285.agents.awac_agent import AWACAgent, advantage_weights, expected_q
from cs285.agents.cql_agent import CQLAgent, cql_penalty
from cs285.agents.dqn_agent import DQNAgent, replay_tensors
from cs285.agents.iql_agent import IQLAgent, expectile_loss
from cs285.agents.random_agent import RandomAgent
from cs285.agents.rnd_agent import RNDAgent, normalized_bonus
from cs285.infrastructure import pytorch_util as ptu
from cs285.infrastructure.rollouts import Batch

NUM_ACTIONS = 5  # the point-mass mazes' actions; observations are points of [0, 1]²


class Table(nn.Module):
    """Q(s, ·) = rows[s] for observations (N, 1) holding the state's index."""

    def __init__(self, rows):
        super().__init__()
        self.rows = nn.Parameter(torch.tensor(rows, dtype=torch.float32))

    def forward(self, obs):
        return self.rows[obs[:, 0].long()]


class TablePolicy(nn.Module):
    """π(·|s) = probs[s]."""

    def __init__(self, probs):
        super().__init__()
        self.probs = torch.tensor(probs, dtype=torch.float32)

    def forward(self, obs):
        return distributions.Categorical(probs=self.probs[obs[:, 0].long()])


def indices(*states):
    return torch.tensor(states, dtype=torch.float32)[:, None]


def maze_batch(n=16, seed=0) -> Batch:
    """n transitions between points of [0, 1]², 5 actions, one terminated."""
    rng = np.random.default_rng(seed)
    terminated = np.zeros(n, bool)
    terminated[3] = True
    return Batch(rng.uniform(0, 1, (n, 2)).astype(np.float32), rng.integers(0, NUM_ACTIONS, n),
                 rng.normal(size=n).astype(np.float32), rng.uniform(0, 1, (n, 2)).astype(np.float32),
                 terminated, np.zeros(n, bool))


# ---- random agent --------------------------------------------------------------------------------------------

def test_random_agent_acts_uniformly_and_learns_nothing():
    agent = RandomAgent((2,), NUM_ACTIONS)
    actions = agent.actor().act(np.zeros((5000, 2)), np.random.default_rng(0))
    counts = np.bincount(actions, minlength=NUM_ACTIONS)
    assert counts.sum() == 5000 and np.all(np.abs(counts / 5000 - 0.2) < 0.03)
    assert agent.update(maze_batch(), 0) == {} and agent.state_dict() == {}


# ---- RND -----------------------------------------------------------------------------------------------------

def test_rnd_error_falls_on_visited_points_and_stays_high_far_away():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    agent = RNDAgent((2,), NUM_ACTIONS, rnd_weight=1.0)  # the course's 2×400 networks, rnd_dim 5
    visited = torch.tensor(rng.uniform(0.1, 0.3, (64, 2)), dtype=torch.float32)
    far = torch.tensor(rng.uniform(0.7, 0.9, (64, 2)), dtype=torch.float32)
    with torch.no_grad():
        before_visited, before_far = agent.prediction_error(visited).mean(), agent.prediction_error(far).mean()
    batch = Batch(visited.numpy(), np.zeros(64, np.int64), np.zeros(64, np.float32), visited.numpy(),
                  np.zeros(64, bool), np.zeros(64, bool))
    for step in range(1, 101):
        agent.update(batch, step)
    with torch.no_grad():
        after_visited, after_far = agent.prediction_error(visited).mean(), agent.prediction_error(far).mean()
    # measured (seed 0): visited 64 -> 8, far 58 -> 35
    assert after_visited < 0.25 * before_visited
    assert after_far > 0.4 * before_far and after_far > 3 * after_visited


def test_rnd_target_network_is_fixed_and_drawn_from_unit_normals():
    torch.manual_seed(0)
    agent = RNDAgent((2,), NUM_ACTIONS, rnd_weight=1.0)
    weights = torch.cat([p.flatten() for p in agent.rnd_target_net.parameters()])
    assert abs(weights.std().item() - 1.0) < 0.02 and abs(weights.mean().item()) < 0.02  # 162k draws
    before = [p.clone() for p in agent.rnd_target_net.parameters()]
    agent.update(maze_batch(), 1)
    assert all(torch.equal(a, b) for a, b in zip(before, agent.rnd_target_net.parameters()))


def test_normalized_bonus_is_standardized_over_the_batch():
    # errors 1, 2, 3: mean 2, population std sqrt(2/3) -> bonus (−1, 0, 1) / sqrt(2/3)
    bonus = normalized_bonus(torch.tensor([1.0, 2.0, 3.0]))
    torch.testing.assert_close(bonus, torch.tensor([-1.0, 0.0, 1.0]) / math.sqrt(2 / 3))
    assert torch.equal(normalized_bonus(torch.full((4,), 7.0)), torch.zeros(4))  # equal errors: no bonus


def test_rnd_critic_learns_from_rewards_plus_weighted_bonus_of_next_states(monkeypatch):
    torch.manual_seed(0)
    agent = RNDAgent((2,), NUM_ACTIONS, rnd_weight=0.5)
    batch = maze_batch()
    obs, actions, rewards, next_obs, terminated = replay_tensors(batch)
    with torch.no_grad():
        expected = rewards + 0.5 * normalized_bonus(agent.prediction_error(next_obs))
    seen = {}

    def spy(self, obs, actions, rewards, next_obs, terminated):
        seen["rewards"] = rewards
        return {}

    monkeypatch.setattr(DQNAgent, "update_critic", spy)
    logs = agent.update(batch, 1)
    torch.testing.assert_close(seen["rewards"], expected)
    assert set(logs) == {"rnd_loss"}


# ---- CQL -----------------------------------------------------------------------------------------------------

# Two states, three actions: Q(s0, ·) = (0, 0, 0), Q(s1, ·) = (0, ln 2, ln 5); data actions a = 1, 2.
QA = torch.tensor([[0.0, 0.0, 0.0], [0.0, math.log(2), math.log(5)]])
Q_DATA = torch.tensor([0.0, math.log(5)])


def test_cql_penalty_by_hand():
    # T = 1: logsumexp = ln 3 and ln(1 + 2 + 5) = ln 8 -> mean(ln 3 − 0, ln 8 − ln 5) = ½ ln(24/5)
    torch.testing.assert_close(cql_penalty(QA, Q_DATA), torch.tensor(0.5 * math.log(24 / 5)))
    # T = 2: 2 ln(3 e⁰) = 2 ln 3 and 2 ln(1 + √2 + √5) -> mean(2 ln 3, 2 ln(1 + √2 + √5) − ln 5)
    expected = 0.5 * (2 * math.log(3) + 2 * math.log(1 + math.sqrt(2) + math.sqrt(5)) - math.log(5))
    torch.testing.assert_close(cql_penalty(QA, Q_DATA, 2.0), torch.tensor(expected))
    # T -> 0: the hard max: mean(0 − 0, ln 5 − ln 5) = 0
    assert abs(cql_penalty(QA, Q_DATA, 1e-3).item()) < 1e-2


def test_cql_loss_is_td_plus_alpha_times_penalty():
    agent = CQLAgent((1,), 3, cql_alpha=0.3, discount=0.0)
    agent.critic, agent.target_critic = Table(QA.tolist()), Table(QA.tolist())
    torch.testing.assert_close(agent.critic_penalty(QA, Q_DATA), 0.3 * cql_penalty(QA, Q_DATA))


def test_cql_pushes_down_actions_the_data_never_took():
    """One state, the data always takes action 0 with reward 1, γ = 0: DQN's Q(s, 1) and Q(s, 2) never
    move, CQL's fall below its Q(s, 0)."""
    batch = Batch(np.full((8, 2), 0.5, np.float32), np.zeros(8, np.int64), np.ones(8, np.float32),
                  np.full((8, 2), 0.5, np.float32), np.ones(8, bool), np.zeros(8, bool))
    obs = torch.full((1, 2), 0.5)
    gaps = {}
    for name, cls, kw in (("dqn", DQNAgent, {}), ("cql", CQLAgent, {"cql_alpha": 1.0})):
        torch.manual_seed(0)
        agent = cls((2,), 3, learning_rate=1e-2, **kw)
        for step in range(1, 201):
            agent.update(batch, step)
        with torch.no_grad():
            q = agent.critic(obs)[0]
        gaps[name] = (q[0] - q[1:].max()).item()
    assert gaps["cql"] > gaps["dqn"] + 1.0


# ---- AWAC ----------------------------------------------------------------------------------------------------

def test_awac_critic_target_by_hand():
    # s' = 0, 1; Q_targ(s', ·) = (1, 3), (2, −2); π(·|s') = (½, ½), (¼, ¾): E_π Q_targ = 2, ½ − 3/2 = −1
    # r = 1, 1; γ = ½; the second terminated: y = 1 + ½·2 = 2, and 1
    agent = AWACAgent((1,), 2, discount=0.5)
    agent.target_critic = Table([[1.0, 3.0], [2.0, -2.0]])
    agent.awr.policy = TablePolicy([[0.5, 0.5], [0.25, 0.75]])
    y = agent.target_values(torch.ones(2), indices(0, 1), torch.tensor([False, True]))
    torch.testing.assert_close(y, torch.tensor([2.0, 1.0]))


def test_awac_advantages_weights_and_actor_loss_by_hand():
    # Q(s, ·) = (1, 3), (2, −2); π(·|s) = (½, ½), (¼, ¾); a = 1, 0: A = 3 − 2 = 1, 2 − (−1) = 3
    agent = AWACAgent((1,), 2, temperature=2.0)
    agent.critic = Table([[1.0, 3.0], [2.0, -2.0]])
    agent.awr.policy = TablePolicy([[0.5, 0.5], [0.25, 0.75]])
    obs, actions = indices(0, 1), torch.tensor([1, 0])
    advantages = agent.advantages(obs, actions)
    torch.testing.assert_close(advantages, torch.tensor([1.0, 3.0]))
    # λ = 2: weights e^{1/2}, e^{3/2}
    torch.testing.assert_close(advantage_weights(advantages, 2.0), torch.tensor([math.exp(0.5), math.exp(1.5)]))
    torch.testing.assert_close(expected_q(torch.tensor([[0.25, 0.75]]), torch.tensor([[2.0, -2.0]])),
                               torch.tensor([-1.0]))


def test_awac_actor_loss_is_weighted_log_likelihood():
    torch.manual_seed(0)
    agent = AWACAgent((2,), NUM_ACTIONS, temperature=0.5)
    obs, actions, *_ = replay_tensors(maze_batch())
    advantages = torch.linspace(-1, 1, len(actions))
    with torch.no_grad():
        log_probs = agent.awr.policy(obs).log_prob(actions)
    expected = -(log_probs * torch.exp(advantages / 0.5)).mean().item()
    assert agent.awr.update(obs, actions, advantages) == pytest.approx(expected, rel=1e-6)


def test_awac_refuses_double_q():
    with pytest.raises(ValueError, match="use_double_q"):
        AWACAgent((2,), NUM_ACTIONS, use_double_q=True)


# ---- IQL -----------------------------------------------------------------------------------------------------

def test_expectile_loss_in_closed_form():
    vs, targets = torch.zeros(2), torch.tensor([1.0, -2.0])  # errors μ = Q − V = 1, −2
    # τ = ½: ½ mean μ² = ½ (1 + 4) / 2
    assert expectile_loss(0.5, vs, targets).item() == pytest.approx(0.5 * 2.5)
    # τ = 0.9: (0.9·1 + 0.1·4) / 2 = 0.65
    assert expectile_loss(0.9, vs, targets).item() == pytest.approx(0.65)
    assert expectile_loss(0.9, targets, targets).item() == 0.0


@pytest.mark.parametrize("tau", [0.5, 0.7, 0.9])
def test_expectile_of_zero_and_one_is_tau(tau):
    """X ∈ {0, 1} equally likely: the loss ½[τ(1 − m)² + (1 − τ)m²] is least at m = τ."""
    m = torch.tensor([tau], requires_grad=True)
    loss = expectile_loss(tau, m.expand(2), torch.tensor([0.0, 1.0]))
    loss.backward()
    assert abs(m.grad.item()) < 1e-6


def test_iql_targets_by_hand():
    # Q's target: y = r + γ (1 − terminated) V_targ(s'); V_targ(0) = 4, V_targ(1) = −2; γ = ½
    # r = 1, 1 -> 1 + 2 = 3 and, terminated, 1
    agent = IQLAgent((1,), 2, discount=0.5)
    agent.target_value_critic = Table([[4.0], [-2.0]])
    y = agent.target_values(torch.ones(2), indices(0, 1), torch.tensor([False, True]))
    torch.testing.assert_close(y, torch.tensor([3.0, 1.0]))
    # V's target: Q_targ(s, a); Q_targ(s, ·) = (1, 3), (2, −2), a = 1, 0 -> 3, 2; V = 0 -> μ = 3, 2
    agent.target_critic = Table([[1.0, 3.0], [2.0, -2.0]])
    agent.value_critic = Table([[0.0], [0.0]])
    (flat,), agent.value_flat_grad = ptu.flatten_parameters(agent.value_critic.parameters())
    agent.value_optimizer = torch.optim.SGD([flat], lr=0.0)  # V stays 0
    logs = agent.update_v(indices(0, 1), torch.tensor([1, 0]))
    # τ = 0.9 (default): v_loss = 0.9 (9 + 4) / 2 = 5.85; vs_adv = mean(V − Q_targ) = −2.5
    assert logs["target_values"] == pytest.approx(2.5) and logs["vs"] == 0.0
    assert logs["v_loss"] == pytest.approx(5.85) and logs["vs_adv"] == pytest.approx(-2.5)
    # ∂v_loss/∂V(s_i) = −2 · 0.9 μ_i / 2 = −2.7, −1.8
    assert logs["v_grad_norm"] == pytest.approx(math.hypot(2.7, 1.8))
    # the actor's advantage: Q_targ(s, a) − V(s) = 3, 2
    torch.testing.assert_close(agent.advantages(indices(0, 1), torch.tensor([1, 0])), torch.tensor([3.0, 2.0]))


def test_iql_logs_the_course_keys_and_copies_both_targets():
    torch.manual_seed(0)
    agent = IQLAgent((2,), NUM_ACTIONS, target_update_period=2)
    logs = agent.update(maze_batch(), 1)
    assert set(logs) == {"q_loss", "q_values", "target_values", "q_grad_norm", "v_loss", "vs", "vs_adv",
                         "v_grad_norm", "actor_loss", "lr"}
    assert not torch.equal(agent.value_critic[0].weight, agent.target_value_critic[0].weight)
    agent.update(maze_batch(), 2)
    assert torch.equal(agent.value_critic[0].weight, agent.target_value_critic[0].weight)
    assert torch.equal(agent.critic[0].weight, agent.target_critic[0].weight)


# ---- every update lowers its loss ----------------------------------------------------------------------------

AGENTS = {
    "dqn": (lambda: DQNAgent((2,), NUM_ACTIONS, target_update_period=10**6), ["critic_loss"]),
    "rnd": (lambda: RNDAgent((2,), NUM_ACTIONS, rnd_weight=0.0, target_update_period=10**6),
            ["critic_loss", "rnd_loss"]),
    "cql": (lambda: CQLAgent((2,), NUM_ACTIONS, cql_alpha=1.0, target_update_period=10**6), ["critic_loss"]),
    "awac": (lambda: AWACAgent((2,), NUM_ACTIONS, target_update_period=10**6, learning_rate=3e-3,
                               actor_learning_rate=3e-3), ["critic_loss", "actor_loss"]),
    "iql": (lambda: IQLAgent((2,), NUM_ACTIONS, target_update_period=10**6, learning_rate=3e-3,
                             actor_learning_rate=3e-3), ["q_loss", "v_loss", "actor_loss"]),
}


@pytest.mark.parametrize("name", sorted(AGENTS))
def test_updates_lower_the_loss_on_a_fixed_batch(name):
    """Targets held (no copy in 150 steps), one batch of 16 transitions: each logged loss ends below half its start."""
    make, keys = AGENTS[name]
    torch.manual_seed(0)
    agent, batch = make(), maze_batch()
    logs = [agent.update(batch, step) for step in range(1, 151)]
    for key in keys:
        assert logs[-1][key] < 0.5 * logs[0][key], (key, logs[0][key], logs[-1][key])
    if name == "cql":  # the penalty, not logged, falls too
        with torch.no_grad():
            obs, actions, *_ = replay_tensors(batch)
            qa = agent.critic(obs)
        assert cql_penalty(qa, qa.gather(1, actions[:, None]).squeeze(1)) < math.log(NUM_ACTIONS)
