"""Closed-form checks of cs285.infrastructure.estimators; the arithmetic sits above each assert."""
import numpy as np
import pytest

from cs285.infrastructure.estimators import (
    bootstrapped_reward_to_go_batch,
    discounted_return,
    discounted_return_batch,
    discounted_reward_to_go,
    gae,
    normalize,
    return_so_far_batch,
    reward_to_go_batch,
)


def _flags(n, at=()):
    flags = np.zeros(n, dtype=bool)
    flags[list(at)] = True
    return flags


# ---------------------------------------------------------------- one trajectory


def test_reward_to_go_worked_example():
    # rewards [1, 2, 3], γ = 0.5:
    # rtg_2 = 3; rtg_1 = 2 + 0.5·3 = 3.5; rtg_0 = 1 + 0.5·3.5 = 2.75
    np.testing.assert_allclose(discounted_reward_to_go([1, 2, 3], 0.5), [2.75, 3.5, 3.0])


def test_reward_to_go_constant_reward_geometric_sum():
    r, discount, horizon = 2.0, 0.9, 5
    rtg = discounted_reward_to_go(np.full(horizon, r), discount)
    # rtg_t = r(1 − γ^{T−t})/(1 − γ)
    # t = 0: 2(1 − 0.9^5)/0.1 = 2(1 − 0.59049)/0.1 = 8.1902
    # t = 4: 2(1 − 0.9)/0.1 = 2
    expected = r * (1 - discount ** (horizon - np.arange(horizon))) / (1 - discount)
    np.testing.assert_allclose(rtg, expected)
    np.testing.assert_allclose(rtg[[0, 4]], [8.1902, 2.0])


def test_reward_to_go_undiscounted_counts_remaining_steps():
    # γ = 1, r = 3, T = 4: rtg_t = r(T − t) = [3·4, 3·3, 3·2, 3·1] = [12, 9, 6, 3]
    np.testing.assert_allclose(discounted_reward_to_go(np.full(4, 3.0), 1.0), [12, 9, 6, 3])


def test_discounted_return_is_constant_along_trajectory():
    # rewards [1, 2, 3], γ = 0.5: 1 + 0.5·2 + 0.25·3 = 2.75 at every step
    q_values = discounted_return([1, 2, 3], 0.5)
    np.testing.assert_allclose(q_values, [2.75, 2.75, 2.75])
    # and it equals reward-to-go at t = 0
    assert q_values[0] == pytest.approx(discounted_reward_to_go([1, 2, 3], 0.5)[0])


def test_outputs_are_float64_for_integer_input():
    assert discounted_return(np.array([1, 2], dtype=np.int32), 0.9).dtype == np.float64
    assert discounted_reward_to_go(np.array([1, 2], dtype=np.int32), 0.9).dtype == np.float64
    assert normalize(np.array([1, 2, 3])).dtype == np.float64


# ------------------------------------------------------------- batches, episodes


def test_batched_estimators_do_not_leak_across_episodes():
    # episode A = [1, 2] (ends at index 1), episode B = [10, 20, 30], γ = 0.5
    rewards = np.array([1.0, 2.0, 10.0, 20.0, 30.0])
    dones = _flags(5, at=[1, 4])
    # rtg A: [1 + 0.5·2, 2] = [2, 2]; rtg B: [10 + 0.5·20 + 0.25·30, 20 + 0.5·30, 30] = [27.5, 35, 30]
    np.testing.assert_allclose(reward_to_go_batch(rewards, dones, 0.5), [2, 2, 27.5, 35, 30])
    # return A: 2 at both steps; return B: 27.5 at all three steps
    np.testing.assert_allclose(discounted_return_batch(rewards, dones, 0.5), [2, 2, 27.5, 27.5, 27.5])


def test_batch_end_closes_the_last_episode():
    # no done flag at the last step: the batch end still ends the episode
    rewards = np.array([1.0, 1.0, 1.0])
    np.testing.assert_allclose(
        reward_to_go_batch(rewards, _flags(3), 0.5), discounted_reward_to_go(rewards, 0.5)
    )


def test_bootstrapped_reward_to_go_adds_discounted_value_only_at_truncation():
    rewards = np.array([1.0, 1.0])
    next_values = np.array([7.0, 4.0])  # V(s_1) = 7 (unused inside the episode), V(s_2) = 4
    # terminated: plain rtg = [1 + 0.5·1, 1] = [1.5, 1]
    terminated = bootstrapped_reward_to_go_batch(rewards, next_values, _flags(2, [1]), _flags(2), 0.5)
    np.testing.assert_allclose(terminated, [1.5, 1.0])
    # truncated: add γ^{T−t} V(s_T): [1.5 + 0.25·4, 1 + 0.5·4] = [2.5, 3]
    truncated = bootstrapped_reward_to_go_batch(rewards, next_values, _flags(2), _flags(2, [1]), 0.5)
    np.testing.assert_allclose(truncated, [2.5, 3.0])


# ------------------------------------------------------------------------- GAE


def _episode(seed, horizon=6):
    rng = np.random.default_rng(seed)
    rewards = rng.normal(size=horizon)
    values = rng.normal(size=horizon)
    # V(s_{t+1}) inside the episode is V of the next step's state; V(s_T) is its own
    next_values = np.append(values[1:], rng.normal())
    return rewards, values, next_values


def test_gae_lambda_zero_is_one_step_td_error():
    rewards = np.array([1.0, 2.0])
    values = np.array([0.5, 1.5])
    next_values = np.array([1.5, 3.0])
    # terminated at t = 1, γ = 0.9:
    # δ_0 = 1 + 0.9·1.5 − 0.5 = 1.85
    # δ_1 = 2 + 0 − 1.5 = 0.5   (no bootstrap after termination)
    advantages = gae(rewards, values, next_values, _flags(2, [1]), _flags(2), 0.9, 0.0)
    np.testing.assert_allclose(advantages, [1.85, 0.5])
    # truncated at t = 1 instead: δ_1 = 2 + 0.9·3 − 1.5 = 3.2
    advantages = gae(rewards, values, next_values, _flags(2), _flags(2, [1]), 0.9, 0.0)
    np.testing.assert_allclose(advantages, [1.85, 3.2])


def test_gae_lambda_one_terminated_is_reward_to_go_minus_value():
    rewards, values, next_values = _episode(0)
    terminated, truncated = _flags(6, [5]), _flags(6)
    # A_t = Σ_l γ^l δ_{t+l}: the V(s_{t+l+1}) terms telescope, leaving rtg_t − V(s_t)
    advantages = gae(rewards, values, next_values, terminated, truncated, 0.95, 1.0)
    np.testing.assert_allclose(advantages, discounted_reward_to_go(rewards, 0.95) - values)


def test_gae_lambda_one_truncated_is_bootstrapped_reward_to_go_minus_value():
    rewards, values, next_values = _episode(1)
    terminated, truncated = _flags(6), _flags(6, [5])
    # telescoping leaves rtg_t + γ^{T−t} V(s_T) − V(s_t)
    expected = (
        discounted_reward_to_go(rewards, 0.95)
        + 0.95 ** (6 - np.arange(6)) * next_values[-1]
        - values
    )
    advantages = gae(rewards, values, next_values, terminated, truncated, 0.95, 1.0)
    np.testing.assert_allclose(advantages, expected)
    np.testing.assert_allclose(
        advantages,
        bootstrapped_reward_to_go_batch(rewards, next_values, terminated, truncated, 0.95) - values,
    )


@pytest.mark.parametrize("gae_lambda", [0.0, 0.5, 0.95, 1.0])
def test_terminated_and_truncated_differ_by_discounted_final_value(gae_lambda):
    rewards, values, next_values = _episode(2)
    discount, horizon = 0.9, 6
    a_term = gae(rewards, values, next_values, _flags(6, [5]), _flags(6), discount, gae_lambda)
    a_trunc = gae(rewards, values, next_values, _flags(6), _flags(6, [5]), discount, gae_lambda)
    # only δ_{T−1} changes, by γ V(s_T); it reaches A_t weighted (γλ)^{T−1−t}:
    # A_t^trunc − A_t^term = (γλ)^{T−1−t} · γ V(s_T)
    steps_left = horizon - 1 - np.arange(horizon)
    expected = (discount * gae_lambda) ** steps_left * discount * next_values[-1]
    np.testing.assert_allclose(a_trunc - a_term, expected, atol=1e-12)


def test_gae_episodes_do_not_leak_into_each_other():
    first, second = _episode(3, horizon=4), _episode(4, horizon=5)
    # first episode truncated (index 3), second terminated (index 8)
    terminated, truncated = _flags(9, [8]), _flags(9, [3])
    batch = [np.concatenate(pair) for pair in zip(first, second)]
    advantages = gae(*batch, terminated, truncated, 0.99, 0.9)
    alone_first = gae(*first, _flags(4), _flags(4, [3]), 0.99, 0.9)
    alone_second = gae(*second, _flags(5, [4]), _flags(5), 0.99, 0.9)
    np.testing.assert_allclose(advantages, np.concatenate([alone_first, alone_second]))
    # changing the second episode's rewards leaves the first one's advantages alone
    batch[0][4:] += 100.0
    np.testing.assert_allclose(gae(*batch, terminated, truncated, 0.99, 0.9)[:4], alone_first)


def test_gae_long_constant_reward_approaches_infinite_horizon_value():
    # r = 1, V = 0, γ = 0.99, T = 2000, terminated at the end:
    # A_0 = Σ_{t<T} γ^t = (1 − 0.99^2000)/0.01 ≈ (1 − 1.9e-9)/0.01 ≈ 100 = r/(1 − γ)
    horizon = 2000
    zeros = np.zeros(horizon)
    advantages = gae(np.ones(horizon), zeros, zeros, _flags(horizon, [-1]), _flags(horizon), 0.99, 1.0)
    assert advantages[0] == pytest.approx(100.0, rel=1e-6)
    # the last step only has its own reward: A_{T−1} = 1
    assert advantages[-1] == pytest.approx(1.0)


def test_gae_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="values"):
        gae(np.zeros(3), np.zeros(2), np.zeros(3), _flags(3), _flags(3), 0.9, 0.9)
    with pytest.raises(ValueError, match="gae_lambda"):
        gae(np.zeros(3), np.zeros(3), np.zeros(3), _flags(3), _flags(3), 0.9, 1.5)


# ------------------------------------------------------------------- normalize


def test_normalize_gives_zero_mean_unit_std():
    # [1, 2, 3, 4]: mean 2.5, population std √1.25 ≈ 1.118 -> [−1.342, −0.447, 0.447, 1.342]
    x = normalize([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_allclose(x, np.array([-1.5, -0.5, 0.5, 1.5]) / np.sqrt(1.25), rtol=1e-7)
    assert x.mean() == pytest.approx(0.0, abs=1e-12)
    assert x.std() == pytest.approx(1.0, rel=1e-7)


def test_normalize_constant_input_is_zero():
    # std 0: (x − mean)/(0 + eps) = 0/eps = 0
    np.testing.assert_array_equal(normalize(np.full(5, 3.0)), np.zeros(5))


def test_return_so_far_accumulates_forward_and_restarts_after_each_end():
    # rewards [1, 2, 3 | 4, 5], the first episode ends at step 2, γ = 0.5:
    # R_0 = 1; R_1 = 2 + 0.5·1 = 2.5; R_2 = 3 + 0.5·2.5 = 4.25; restart: R_3 = 4; R_4 = 5 + 0.5·4 = 7
    out = return_so_far_batch([1, 2, 3, 4, 5], _flags(5, at=[2]), 0.5)
    np.testing.assert_allclose(out, [1, 2.5, 4.25, 4, 7])
    # constant reward r, γ: R_t = r(1 − γ^{t+1})/(1 − γ) → 2(1 − 0.9^3)/0.1 = 5.42 at t = 2
    np.testing.assert_allclose(return_so_far_batch(np.full(3, 2.0), _flags(3), 0.9)[-1], 5.42)
