"""hw5's Pointmass mazes (cs285/envs/pointmass.py, pointmass_oracle.py, pointmass_plots.py): the course's
numbers, wall blocking axis by axis, the goal's reward and termination apart from the time limit's
truncation, seeding, the BFS oracle against hand-counted paths, coverage, frames and figures, and
one-line errors."""
import gymnasium as gym
import numpy as np
import pytest

from cs285.envs.make import make_env
from cs285.envs.pointmass import (MAZES, POINT_COLOUR, WALL_COLOUR, Pointmass, cells_of, coverage, difficulty_of,
                                  maze_of, simulate_step, simulate_steps, visitation_entropy)
from cs285.envs.pointmass_oracle import (NoisyPlanActor, OracleActor, goal_cells, goal_lengths, oracle_actions,
                                         oracle_returns, plan_under_noise, shortest_path_actions,
                                         shortest_path_lengths)
from cs285.envs.pointmass_plots import draw_trajectories, draw_visitation
from cs285.infrastructure.errors import UserError

EASY = MAZES[0].walls  # rows 0-1 free; rows 2-9 free only in columns 8-9


def _noise_free(env_id: str, position=None):
    env = make_env(env_id, action_noise=0.0)
    obs, _ = env.reset(seed=0, options={"position": position})
    return env, obs


def _run(env, actions) -> list[tuple]:
    return [env.step(a) for a in actions]


# ---------------------------------------------------------------------- the course's numbers


@pytest.mark.parametrize("difficulty, env_id, shape, start, goal, radius, steps", [
    (0, "PointmassEasy-v0", (10, 10), (1, 1), (9, 9), 2, 50),  # Maze5x5 scaled ×2
    (1, "PointmassMedium-v0", (6, 6), (0.5, 0.5), (1.5, 5.5), 1, 150),
    (2, "PointmassHard-v0", (22, 22), (2, 2), (20, 20), 2, 100),  # FourRooms 11×11 scaled ×2
])
def test_each_id_is_the_courses_maze_made_like_any_env(difficulty, env_id, shape, start, goal, radius, steps):
    maze = MAZES[difficulty]
    assert (maze.env_id, maze.walls.shape, maze.start, maze.goal, maze.radius, maze.max_episode_steps) == (
        env_id, shape, start, goal, radius, steps)
    spec = gym.spec(env_id)  # registry.py's row repeats the time limit and the course's kwargs
    assert spec.max_episode_steps == steps and spec.kwargs == {"difficulty": difficulty}
    for env in (make_env(env_id, seed=0), gym.make(env_id)):
        assert isinstance(env.unwrapped, Pointmass) and env.unwrapped.difficulty == difficulty
        assert env.action_space == gym.spaces.Discrete(5)
        assert env.observation_space == gym.spaces.Box(0.0, 1.0, (2,), np.float64)
        obs, info = env.reset(seed=0)
        np.testing.assert_array_equal(obs, np.array(start) / shape)
        env.close()


def test_the_goal_cells_lie_wholly_inside_the_goal_radius():
    """The oracle's targets: entering one ends the episode. Easy's goal (9, 9), radius 2: the four cells
    around it (farthest corner √2 away); (7, 8)'s corner (7, 8) is √5 away. Medium: the goal's own cell."""
    assert goal_cells(MAZES[0]) == [(8, 8), (8, 9), (9, 8), (9, 9)]
    assert goal_cells(MAZES[1]) == [(1, 5)]
    assert goal_cells(MAZES[2]) == [(19, 19), (19, 20), (20, 19), (20, 20)]
    assert goal_cells(MAZES[3]) == [(0, 10)]


# ---------------------------------------------------------------------- dynamics


def test_walls_block_each_axis_on_its_own():
    # Easy's cell (2, 3) is a wall, (1, 3) and (1, 4) are free
    np.testing.assert_array_equal(simulate_step(EASY, np.array([1.95, 3.5]), np.array([1.0, 0.0])), [1.95, 3.5])
    # every substep along s0 lands at 2.05, in the wall: s0 stays, while s1 takes all ten substeps of 0.1
    np.testing.assert_allclose(simulate_step(EASY, np.array([1.95, 3.5]), np.array([1.0, 1.0])), [1.95, 4.5])
    # from 1.5 four substeps of 0.1 are free (1.9), the fifth would reach 2.0, row 2: the point slides to the wall
    np.testing.assert_allclose(simulate_step(EASY, np.array([1.5, 3.5]), np.array([1.0, 0.0])), [1.9, 3.5])
    # the maze's edge blocks like a wall: 0.05 − 0.1 < 0
    np.testing.assert_array_equal(simulate_step(EASY, np.array([0.05, 0.5]), np.array([-1.0, 0.0])), [0.05, 0.5])
    env, _ = _noise_free("PointmassEasy-v0", position=(1.95, 3.5))
    obs = env.step(4)[0]  # action 4: s0 + 1, into the wall
    np.testing.assert_array_equal(env.unwrapped._state, [1.95, 3.5])
    np.testing.assert_allclose(obs, [0.195, 0.35])


def test_the_goal_radius_gives_reward_0_and_ends_the_episode():
    # goal (9, 9), radius 2: (6.5, 8.5) is √(2.5² + 0.5²) = 2.55 away, (7.5, 8.5) √(1.5² + 0.5²) = 1.58
    env, _ = _noise_free("PointmassEasy-v0", position=(5.5, 8.5))
    (_, r1, term1, trunc1, _), (obs, r2, term2, trunc2, _) = _run(env, [4, 4])
    assert (r1, term1, trunc1) == (-1.0, False, False)
    assert (r2, term2, trunc2) == (0.0, True, False)
    np.testing.assert_allclose(obs * 10, [7.5, 8.5])
    dense = Pointmass(difficulty=0, dense_reward=True, action_noise=0.0)  # the course's dense_reward: −‖s' − goal‖
    dense.reset(options={"position": (5.5, 8.5)})
    assert dense.step(4)[1] == pytest.approx(-np.hypot(2.5, 0.5))


def test_the_time_limit_truncates_and_does_not_terminate():
    env, _ = _noise_free("PointmassEasy-v0")
    steps = _run(env, [0] * 50)  # stay at the start (1, 1) for Easy's 50 steps
    assert [s[1] for s in steps] == [-1.0] * 50
    assert [s[3] for s in steps] == [False] * 49 + [True]  # truncated, by gymnasium's TimeLimit
    assert not any(s[2] for s in steps)  # never terminated
    alone = Pointmass(difficulty=0)  # made without gym.make: no TimeLimit, the episode runs on
    alone.reset(seed=0)
    assert not any(alone.step(0)[3] for _ in range(60))


def test_observations_stay_in_the_unit_square():
    env = make_env("PointmassHard-v0", ep_len=400)
    obs, _ = env.reset(seed=1)
    env.action_space.seed(1)
    observations = [obs] + [env.step(env.action_space.sample())[0] for _ in range(400)]
    observations = np.array(observations)
    assert observations.min() >= 0.0 and observations.max() <= 1.0
    assert len(np.unique(cells_of(MAZES[2].walls, observations), axis=0)) > 20  # it did wander
    far, _ = env.reset(options={"position": (22.0, 22.0)})  # the far corner: observation (1, 1), in the last cell
    np.testing.assert_array_equal(far, [1.0, 1.0])
    assert env.observation_space.contains(far)


def test_the_same_seed_gives_the_same_trajectory():
    actions = np.random.default_rng(0).integers(5, size=40)

    def trajectory(seed):
        env = make_env("PointmassMedium-v0")
        obs, _ = env.reset(seed=seed)
        return np.array([obs] + [env.step(a)[0] for a in actions])

    np.testing.assert_array_equal(trajectory(7), trajectory(7))
    assert not np.array_equal(trajectory(7), trajectory(8))


# ---------------------------------------------------------------------- the shortest-path oracle

HAND_MAZE = np.array([[0, 0, 0, 1],
                      [1, 1, 0, 1],
                      [0, 0, 0, 1],
                      [1, 1, 1, 0]], dtype=bool)  # (3, 3) is walled in


def test_bfs_lengths_on_a_hand_made_maze():
    inf = np.inf
    # from the target (2, 0): (2, 1) 1, (2, 2) 2, up the gap (1, 2) 3, (0, 2) 4, then left (0, 1) 5, (0, 0) 6
    np.testing.assert_array_equal(shortest_path_lengths(HAND_MAZE, [(2, 0)]), [[6, 5, 4, inf],
                                                                              [inf, inf, 3, inf],
                                                                              [0, 1, 2, inf],
                                                                              [inf, inf, inf, inf]])
    # to the nearer of (2, 0) and (0, 0): (0, 1) 1 and (0, 2) 2 from (0, 0), (1, 2) 3 either way
    np.testing.assert_array_equal(shortest_path_lengths(HAND_MAZE, [(2, 0), (0, 0)]), [[0, 1, 2, inf],
                                                                                      [inf, inf, 3, inf],
                                                                                      [0, 1, 2, inf],
                                                                                      [inf, inf, inf, inf]])


def test_the_oracles_path_is_a_shortest_one():
    lengths = shortest_path_lengths(HAND_MAZE, [(2, 0)])
    cell, path = np.array([0, 0]), []
    while lengths[tuple(cell)] > 0:
        action = shortest_path_actions(lengths, cell[None])[0]
        cell = cell + np.array([[0, 0], [0, -1], [0, 1], [-1, 0], [1, 0]])[action]
        path.append(tuple(cell))
    assert path == [(0, 1), (0, 2), (1, 2), (2, 2), (2, 1), (2, 0)]  # 6 moves, the BFS length of (0, 0)
    assert shortest_path_actions(lengths, np.array([[2, 0], [3, 3]])).tolist() == [0, 0]  # at the target; no path
    # on the registered mazes, from every free cell with a path, the oracle's move is one cell nearer
    for difficulty in (0, 1, 2):
        lengths = goal_lengths(difficulty)
        cells = np.argwhere(np.isfinite(lengths) & (lengths > 0))
        steps = np.array([[0, 0], [0, -1], [0, 1], [-1, 0], [1, 0]])[shortest_path_actions(lengths, cells)]
        nxt = cells + steps
        np.testing.assert_array_equal(lengths[nxt[:, 0], nxt[:, 1]], lengths[cells[:, 0], cells[:, 1]] - 1)


def test_start_to_goal_lengths():
    # Easy and Hard have paths that only ever move towards the goal cells: the Manhattan distances to
    # (8, 8), 7 + 7, and to (19, 19), 17 + 17; Medium's winds 20 moves: (0,0) (0,1) (1,1) (2,1) (2,0) (3,0)
    # (4,0) (4,1) (5,1) (5,2) (5,3) (5,4) (4,4) (3,4) (3,3) (2,3) (1,3) (0,3) (0,4) (0,5) (1,5)
    starts = {0: (1, 1), 1: (0, 0), 2: (2, 2)}
    assert {d: goal_lengths(d)[c] for d, c in starts.items()} == {0: 14, 1: 20, 2: 34}


@pytest.mark.parametrize("env_id, steps", [
    # Easy: 15 steps, not 14: after seven moves along s1, 0.1 added 70 times to 1 gives 7.9999999999999885,
    # still cell 7, so the oracle moves along s1 once more before turning, to (8, 9)
    ("PointmassEasy-v0", 15),
    ("PointmassMedium-v0", 20),  # the 20 moves above, into the goal's cell
    ("PointmassHard-v0", 34),  # the 34 moves, to (19, 19), √2 from (20, 20)
])
def test_the_oracle_reaches_the_goal_without_noise(env_id, steps):
    env, obs = _noise_free(env_id)
    rewards, terminated = [], False
    while not terminated:
        obs, reward, terminated, truncated, _ = env.step(oracle_actions(env_id, obs[None])[0])
        rewards.append(reward)
        assert not truncated
    assert len(rewards) == steps and sum(rewards) == -(steps - 1)  # −1 a step, 0 on the one that arrives


def test_oracle_returns_over_seeded_noisy_episodes():
    measured = oracle_returns("PointmassEasy-v0", n_episodes=4, seed=3)
    assert measured == oracle_returns("PointmassEasy-v0", n_episodes=4, seed=3)  # seeded: the same again
    assert len(measured.returns) == 4 and measured.best == max(measured.returns)
    assert measured.mean == pytest.approx(np.mean(measured.returns))
    assert all(-49 <= r <= 0 for r in measured.returns)  # each reached the goal within the 50 steps
    assert OracleActor("PointmassEasy-v0").act(np.array([[0.1, 0.1]]), None).tolist() == [2]  # s1 + 1 from (1, 1)


@pytest.mark.parametrize("difficulty", [0, 2])
def test_the_batched_step_is_the_env_step_to_the_last_bit(difficulty):
    walls = MAZES[difficulty].walls
    rng = np.random.default_rng(difficulty)
    free = np.argwhere(~walls)
    states = free[rng.integers(len(free), size=2000)] + rng.uniform(0, 1, (2000, 2))
    moves = rng.normal(0, 1.5, (2000, 2))
    expected = np.array([simulate_step(walls, s, m) for s, m in zip(states, moves)])
    np.testing.assert_array_equal(simulate_steps(walls, states, moves), expected)


@pytest.mark.parametrize("env_id, steps", [("PointmassEasy-v0", 15), ("PointmassMedium-v0", 20),
                                            ("PointmassHard-v0", 34)])
def test_the_plan_under_no_noise_takes_about_the_fewest_steps(env_id, steps):
    """Without noise, value iteration's plan reaches the goal in the shortest path's steps (the fewest
    possible, test above) or up to 2 more: it plans from the centres of its quarter-unit cells, up to 1/8
    unit off the point, so near a wall a planned move may slide where the real one does not. Its value at
    the start's cell is a whole count of steps within one of the real point's (from the cell's centre, 1/8
    unit nearer the goal, the arriving step may come one sooner; it costs nothing)."""
    actor = NoisyPlanActor(env_id, noise=0.0)
    env, obs = _noise_free(env_id)
    rewards, terminated = [], False
    while not terminated:
        obs, reward, terminated, truncated, _ = env.step(int(actor.act(obs, None)[0]))
        rewards.append(reward)
        assert not truncated
    assert steps <= len(rewards) <= steps + 2
    plan = plan_under_noise(difficulty_of(env_id), 0.0)
    start = plan.lookup(np.array([maze_of(env_id).start]))[0]
    assert -(steps + 1) <= plan.values[start] <= -(steps - 2) and plan.values[start] == int(plan.values[start])


def test_on_hard_the_plan_under_noise_beats_the_shortest_path():
    """The shortest path ignores the noise: on Hard, moves along walls and through the doors lose what the
    walls refuse. On the same 60 seeded episodes the plan averaged −33.4 where the shortest path averaged −39.5
    (200 episodes: −33.1 against −39.7); Easy and Medium, without narrow doors, differ by less than 0.3."""
    shortest = oracle_returns("PointmassHard-v0", n_episodes=60, seed=0)
    planned = oracle_returns("PointmassHard-v0", n_episodes=60, seed=0, policy="noisy")
    assert planned.mean > shortest.mean + 4
    with pytest.raises(ValueError, match="policy is one of shortest, noisy"):
        oracle_returns("PointmassHard-v0", policy="best")


# ---------------------------------------------------------------------- coverage, frames, figures


def test_coverage_of_hand_made_observations():
    # Easy has 20 + 16 = 36 free cells; these fall in (0, 0) twice, (1, 5), (9, 9) (the far edge goes to the
    # last cell) and (5, 5), a wall cell, which does not count: 3 of 36
    observations = np.array([[0.05, 0.05], [0.01, 0.02], [0.15, 0.55], [1.0, 1.0], [0.55, 0.55]])
    assert coverage("PointmassEasy-v0", observations) == 3 / 36
    assert coverage(0, np.empty((0, 2))) == 0.0
    free = np.argwhere(~MAZES[1].walls)
    assert coverage("PointmassMedium-v0", (free + 0.5) / 6) == 1.0


def test_visitation_entropy_is_one_for_even_visits_and_falls_as_they_bunch():
    free = (np.argwhere(~MAZES[1].walls) + 0.5) / 6  # Medium: one point in each of its 21 free cells
    assert visitation_entropy("PointmassMedium-v0", free) == pytest.approx(1.0)
    assert visitation_entropy("PointmassMedium-v0", free[:1]) == 0.0
    # 20 cells once and one cell 21 times: p = 1/41 (20 times) and 21/41
    p = np.array([1 / 41] * 20 + [21 / 41])
    bunched = np.concatenate([free, np.repeat(free[:1], 20, axis=0)])
    assert visitation_entropy("PointmassMedium-v0", bunched) == pytest.approx(-(p * np.log(p)).sum() / np.log(21))
    assert coverage("PointmassMedium-v0", bunched) == 1.0  # both reach every cell; the entropy tells them apart


def test_a_rendered_frame():
    env = make_env("PointmassEasy-v0", render=True, width=64, height=48)
    env.reset(seed=0)
    frame = env.render()
    assert frame.shape == (48, 64, 3) and frame.dtype == np.uint8
    # the point at (1, 1): column 1/10 · 64 = 6.4, row (1 − 1/10) · 48 = 43.2; the wall cell (5, 5) around
    # column 0.55 · 64 = 35.2, row 0.45 · 48 = 21.6
    assert tuple(frame[43, 6]) == POINT_COLOUR and tuple(frame[21, 35]) == WALL_COLOUR
    env.step(2)
    assert not np.array_equal(env.render(), frame)  # the point moved
    hard = make_env("PointmassHard-v0", render=True)
    hard.reset(seed=0)
    assert hard.render().shape == (256, 256, 3)  # the default size


def test_figures_into_axes_or_files(tmp_path):
    from matplotlib import _pylab_helpers
    from matplotlib.figure import Figure

    observations = np.array([[0.05, 0.05], [0.01, 0.02], [0.15, 0.55]])  # cells (0, 0) twice, (1, 5)
    fig = draw_visitation(None, "PointmassEasy-v0", observations)
    counts = fig.axes[0].images[0].get_array()  # x = s0: the image's rows run along s1
    assert counts[0, 0] == 2 and counts[5, 1] == 1 and counts.count() == 2  # masked elsewhere: white
    assert "6%" in fig.axes[0].get_title()  # 2 of Easy's 36 free cells
    path = tmp_path / "out" / "visits.png"
    draw_visitation(str(path), "PointmassHard-v0", observations)
    assert path.stat().st_size > 0
    fig = Figure()
    ax = fig.add_subplot()
    assert draw_trajectories(ax, "PointmassMedium-v0", [observations, observations[::-1]], title="two") is fig
    assert len(ax.lines) == 2 and ax.get_title() == "two"
    assert _pylab_helpers.Gcf.get_num_fig_managers() == 0  # nothing went through pyplot


# ---------------------------------------------------------------------- bad input


def test_bad_input_is_named_in_one_line():
    cases = [
        (UserError, lambda: maze_of("PointmassEasy"), "PointmassEasy-v0, PointmassMedium-v0, PointmassHard-v0"),
        (UserError, lambda: coverage(7, np.zeros((1, 2))), "no Pointmass maze 7"),
        (ValueError, lambda: Pointmass(difficulty=4), "difficulty must be one of [0, 1, 2, 3]"),
        (ValueError, lambda: Pointmass(render_mode="human"), "render_mode"),
        (ValueError, lambda: Pointmass(action_noise=-1), "action_noise"),
        (ValueError, lambda: Pointmass().step(5), "an action is an integer in 0..4"),
        (ValueError, lambda: Pointmass().reset(options={"position": (5.5, 5.5)}), "free (s0, s1)"),
        (ValueError, lambda: coverage("PointmassEasy-v0", np.zeros(2)), "observations are (n, 2)"),
        (ValueError, lambda: draw_trajectories(None, 0, [np.zeros(3)]), "(T, 2)"),
        (ValueError, lambda: shortest_path_lengths(HAND_MAZE, [(1, 0)]), "is a wall"),
    ]
    for error, call, words in cases:
        with pytest.raises(error) as err:
            call()
        assert words in str(err.value) and "\n" not in str(err.value), str(err.value)
    assert difficulty_of(np.int64(2)) == 2 and difficulty_of("PointmassHard-v0") == 2
