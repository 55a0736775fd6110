"""Pure return and advantage estimators: NumPy in, float64 NumPy out.

No torch, no device, no state. Two kinds of input:

* one trajectory: ``rewards`` of shape (T,), its steps in order;
* one batch: trajectories concatenated in time order, shape (N,), with
  per-step flags ``terminated`` (the MDP ended: no value after this step) and
  ``truncated`` (a time limit or the end of the rollout cut it: the value of the
  real next observation still counts). ``dones = terminated | truncated``
  marks the last step of each episode. The last step of a batch always ends an
  episode, whatever its flags say; if it is not ``terminated`` the bootstrapped
  estimators treat it as truncated.

Notation: r = rewards, γ = discount, V(s_t) = values[t],
V(s_{t+1}) = next_values[t] (the value of the observation that step t
actually reached, also at a truncation).
"""
from __future__ import annotations

from typing import Optional

import numpy as np
from numpy.typing import ArrayLike


def _steps(name: str, x: ArrayLike, n: Optional[int] = None, dtype: type = np.float64) -> np.ndarray:
    """``x`` as one entry per step, shape (N,), with N = ``n`` when given."""
    arr = np.asarray(x, dtype=dtype)
    if arr.ndim != 1 or (n is not None and arr.size != n):
        raise ValueError(f"{name} must have shape ({'N' if n is None else n},), one entry per step, got {arr.shape}")
    return arr


def _check_unit(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must lie in [0, 1], got {value}")


def _batch_inputs(rewards: ArrayLike, dones: ArrayLike, discount: float) -> tuple[np.ndarray, np.ndarray]:
    """Checked (rewards (N,) float64, episode ends (N,) with the last step an end) of a concatenated batch."""
    rewards = _steps("rewards", rewards)
    _check_unit("discount", discount)
    ends = _steps("dones", dones, rewards.size, bool).copy()
    ends[-1:] = True  # the batch's last step ends an episode
    return rewards, ends


def _bootstrap_inputs(rewards: ArrayLike, next_values: ArrayLike, terminated: ArrayLike, truncated: ArrayLike,
                      discount: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Checked (rewards, next_values, terminated, episode ends), each (N,), for the bootstrapped estimators."""
    rewards = _steps("rewards", rewards)
    n = rewards.size
    _check_unit("discount", discount)
    terminated = _steps("terminated", terminated, n, bool)
    ends = terminated | _steps("truncated", truncated, n, bool)
    ends[-1:] = True  # the batch's last step ends an episode
    return rewards, _steps("next_values", next_values, n), terminated, ends


def discounted_return(rewards: ArrayLike, discount: float) -> np.ndarray:
    """Full discounted return of one trajectory, repeated at every step.

        q_values[t] = Σ_{t'=0}^{T-1} γ^{t'} r_{t'}      for every t

    The course's trajectory-based Q estimate (no reward-to-go).
    Example: rewards [1, 2, 3], γ = 0.5 -> 1 + 0.5·2 + 0.25·3 = 2.75 at all
    three steps.

    rewards: (T,). discount γ in [0, 1]. Returns q_values (T,), float64.
    """
    rewards = _steps("rewards", rewards)
    _check_unit("discount", discount)
    total = rewards @ discount ** np.arange(rewards.size, dtype=np.float64)
    return np.full(rewards.shape, total, dtype=np.float64)


def discounted_reward_to_go(rewards: ArrayLike, discount: float) -> np.ndarray:
    """Discounted reward-to-go of one trajectory.

        rewards_to_go[t] = Σ_{t'=t}^{T-1} γ^{t'-t} r_{t'}
                         = r_t + γ · rewards_to_go[t+1],   rewards_to_go[T] = 0

    One backward pass, linear in T. Example: rewards [1, 2, 3], γ = 0.5 ->
    [1 + 0.5·2 + 0.25·3, 2 + 0.5·3, 3] = [2.75, 3.5, 3].

    rewards: (T,). discount γ in [0, 1]. Returns rewards_to_go (T,), float64.
    """
    return reward_to_go_batch(rewards, np.zeros(np.shape(rewards), dtype=bool), discount)


def discounted_return_batch(rewards: ArrayLike, dones: ArrayLike, discount: float) -> np.ndarray:
    """``discounted_return`` applied to each episode of a concatenated batch.

        q_values[t] = Σ_{t'=start}^{end} γ^{t'-start} r_{t'}   for start <= t <= end

    where [start, end] is the episode holding step t (ends where ``dones``).

    rewards, dones: (N,). Returns q_values (N,), float64.
    """
    rewards, ends = _batch_inputs(rewards, dones, discount)
    q_values = np.empty_like(rewards)
    start = 0
    for end in np.flatnonzero(ends):
        q_values[start : end + 1] = discounted_return(rewards[start : end + 1], discount)
        start = end + 1
    return q_values


def reward_to_go_batch(rewards: ArrayLike, dones: ArrayLike, discount: float) -> np.ndarray:
    """Discounted reward-to-go of each episode of a concatenated batch, no bootstrap.

        rewards_to_go[t] = r_t + γ (1 − dones_t) rewards_to_go[t+1]

    so the sum restarts at every episode end and nothing is added after it
    (use ``bootstrapped_reward_to_go_batch`` to value truncated ends).

    rewards, dones: (N,). Returns rewards_to_go (N,), float64.
    """
    rewards, ends = _batch_inputs(rewards, dones, discount)
    rewards_to_go = np.empty_like(rewards)
    running = 0.0
    for t in range(rewards.size - 1, -1, -1):
        running = rewards[t] + discount * (0.0 if ends[t] else running)
        rewards_to_go[t] = running
    return rewards_to_go


def return_so_far_batch(rewards: ArrayLike, dones: ArrayLike, discount: float) -> np.ndarray:
    """Discounted return accumulated forward from each episode's start (PPO's reward scaling).

        returns_so_far[t] = r_t + γ (1 − dones_{t−1}) returns_so_far[t−1],   returns_so_far[−1] = 0

    i.e. Σ_{t'=start}^{t} γ^{t−t'} r_{t'}; the spread of these is the scale by
    which SB3's VecNormalize and CleanRL's PPO divide rewards.

    rewards, dones: (N,). Returns returns_so_far (N,), float64.
    """
    rewards, ends = _batch_inputs(rewards, dones, discount)
    out = np.empty_like(rewards)
    running = 0.0
    for t in range(rewards.size):
        running = rewards[t] + discount * running
        out[t] = running
        if ends[t]:
            running = 0.0
    return out


def bootstrapped_reward_to_go_batch(
    rewards: ArrayLike,
    next_values: ArrayLike,
    terminated: ArrayLike,
    truncated: ArrayLike,
    discount: float,
) -> np.ndarray:
    """Reward-to-go per episode, plus γ^{T−t} V(s_T) when the episode was cut short.

    For an episode of steps 0..T−1 that ends in s_T:

        rewards_to_go[t] = Σ_{t'=t}^{T-1} γ^{t'-t} r_{t'} + γ^{T-t} (1 − terminated_{T-1}) V(s_T)

    computed backward as

        rewards_to_go[t] = r_t + γ [(1 − done_t) rewards_to_go[t+1]
                                    + done_t (1 − terminated_t) next_values[t]]

    with done_t = terminated_t or truncated_t. A termination adds nothing
    after it (V of a terminal state is 0); a truncation keeps the value of the
    real next observation (Pardo et al. 2018, "Time Limits in RL").
    It equals ``gae(..., gae_lambda=1) + values``.

    rewards, next_values, terminated, truncated: (N,).
    Returns rewards_to_go (N,), float64.
    """
    rewards, next_values, terminated, ends = _bootstrap_inputs(rewards, next_values, terminated, truncated, discount)
    rewards_to_go = np.empty_like(rewards)
    running = 0.0
    for t in range(rewards.size - 1, -1, -1):
        if ends[t]:
            running = 0.0 if terminated[t] else next_values[t]
        running = rewards[t] + discount * running
        rewards_to_go[t] = running
    return rewards_to_go


def gae(
    rewards: ArrayLike,
    values: ArrayLike,
    next_values: ArrayLike,
    terminated: ArrayLike,
    truncated: ArrayLike,
    discount: float,
    gae_lambda: float,
) -> np.ndarray:
    """Generalized advantage estimation over one concatenated batch of episodes.

    Schulman, Moritz, Levine, Jordan, Abbeel 2016, "High-Dimensional Continuous
    Control Using Generalized Advantage Estimation", eqs. 11-16:

        δ_t = r_t + γ (1 − terminated_t) V(s_{t+1}) − V(s_t)
        A_t = δ_t + γ λ (1 − done_t) A_{t+1},       done_t = terminated_t or truncated_t
            = Σ_{l=0}^{end-t} (γλ)^l δ_{t+l}          (within t's episode)

    The recursion stops at every episode end. At a truncation the bootstrap
    V(s_{t+1}) = next_values[t] (the real next observation) is kept; at a
    termination it is dropped.

    Limits: λ = 0 gives advantages = δ (one-step TD error); λ = 1 gives
    advantages = bootstrapped_reward_to_go_batch(...) − values, i.e. the
    discounted reward-to-go (plus γ^{T−t} V(s_T) at a truncated end) minus V.

    rewards, values, next_values, terminated, truncated: (N,).
    discount γ and gae_lambda λ in [0, 1]. Returns advantages (N,), float64.
    """
    rewards, next_values, terminated, ends = _bootstrap_inputs(rewards, next_values, terminated, truncated, discount)
    values = _steps("values", values, rewards.size)
    _check_unit("gae_lambda", gae_lambda)

    deltas = rewards + discount * np.where(terminated, 0.0, next_values) - values  # (N,)
    return reward_to_go_batch(deltas, ends, discount * gae_lambda)  # A_t: the δ's reward-to-go at rate γλ


def n_step_targets(
    rewards: ArrayLike,
    next_values: ArrayLike,
    terminated: ArrayLike,
    truncated: ArrayLike,
    discount: float,
    n_step: int = 1,
) -> np.ndarray:
    """Bootstrapped n-step critic targets over one concatenated batch of episodes.

    For step t of an episode whose last step is e, with m = min(n_step, e − t + 1):

        targets[t] = Σ_{k=0}^{m-1} γ^k r_{t+k} + γ^m (1 − terminated_{t+m-1}) next_values[t+m-1]

    i.e. n rewards, then the value of the state reached, V(s_{t+m}); the sum
    stops early at the episode's end. At a termination the bootstrap is
    dropped; at a truncation next_values[e] (the real next observation) keeps
    it. n_step = 1 is the one-step TD target y_t = r_t + γ(1 − terminated_t) V(s_{t+1});
    n_step ≥ episode length gives ``bootstrapped_reward_to_go_batch``.
    (Sutton & Barto 2018, section 7.1; Mnih et al. 2016, A3C.)

    rewards, next_values, terminated, truncated: (N,). n_step ≥ 1.
    Returns targets (N,), float64.
    """
    rewards, next_values, terminated, ends = _bootstrap_inputs(rewards, next_values, terminated, truncated, discount)
    if n_step < 1:
        raise ValueError(f"n_step must be at least 1, got {n_step}")
    n, end_steps = rewards.size, np.flatnonzero(ends)
    t = np.arange(n)
    episode_end = end_steps[np.searchsorted(end_steps, t)]  # the last step of t's episode
    m = np.minimum(n_step, episode_end - t + 1)  # rewards summed at each step
    targets = np.zeros(n)
    for k in range(n_step):
        inside = k < m
        targets[inside] += discount**k * rewards[t[inside] + k]
    last = t + m - 1
    return targets + discount**m * np.where(terminated[last], 0.0, next_values[last])


def normalize(x: ArrayLike, eps: float = 1e-8) -> np.ndarray:
    """Standardize: (x − mean(x)) / (std(x) + eps), float64, same shape as x.

    std is the population standard deviation (ddof = 0), so the result has
    mean 0 and std 1 up to eps. A constant x maps to zeros.
    """
    x = np.asarray(x, dtype=np.float64)
    return (x - x.mean()) / (x.std() + eps)
