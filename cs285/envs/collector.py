"""The one way to step environments for data: complete episodes, segments, single steps.

    collector = Collector("HalfCheetah-v4", seed=1)
    paths = collector.episodes(policy, min_steps=5000)       # BC, DAgger, PG, eval (rollouts.py: paths)
    batch, done = collector.segments(policy, steps_per_env=256)  # PPO: cuts bootstrap like time limits
    batch, done = collector.steps(policy, 1)                   # replay buffers (DQN, SAC, ...)

``policy`` is an Actor (rollouts.py: ``act(obs, rng)``) or an MLPPolicy,
whose NumPy ``snapshot()`` is taken at the call. Every request draws its
random numbers from one integer drawn from torch's RNG (unless given a
``seed``), so ``--seed`` drives everything; a deterministic request (eval,
videos) takes its integer from the collector's own stream instead, so turning
videos or evaluations on or off never shifts the training numbers. Every rule lives here once:
- **The stop rule** (``_Budget``): episodes 0, 1, 2, … until ``min_steps``
  steps, or exactly ``n_episodes``. Episode k starts only once it is sure to
  be needed: the finished episodes' steps plus the time limit for each running
  one fall short of ``min_steps``. No episode is thrown away, and the batch is
  the prefix a single env would have given, however long episodes have grown.
- **Action noise** (``rollouts.env_action``): the env gets action + N(0, std²);
  the path keeps the policy's action.
- **Ends**: ``terminated`` and ``truncated`` apart, with the real next
  observation; a segment's last step, if its episode goes on, is cut
  (``truncated``) and the next call continues the episode.

Backends (``describe()`` says which run):
- gymnasium, complete episodes: each episode seeded on its own
  (``SeedSequence([request seed, k])`` for its reset, policy and action noise),
  run whole by ``env_procs`` forked processes (each talks to this one once per
  episode; a MuJoCo step holds the GIL, and lock-step stepping across
  processes pays two wake-ups per step). Any process count gives the same
  paths. The actor is pickled to the workers: collect with ``env_procs=1``
  for one that needs torch (SAC's), which then runs in this process. Measured on the 2-core VM: hw2 HalfCheetah's six 1000-step episodes
  took 0.58 / 0.61 s in 2 processes against 0.93 / 1.21 s in 1.
- lock-step: ``num_envs`` envs stepped together, one policy call per step, no
  auto-reset (envs.VecEnv); over ``env_procs`` processes (process_env.py) or
  on envpool's threads (envpool_env.py). Segments and steps always run here,
  and so do complete episodes on envpool or on an env given to ``over``
  (videos). Env i's first reset uses seed + i; eval episodes have their own
  envs (seed + ``EVAL_SEED_OFFSET``).
"""
from __future__ import annotations

from multiprocessing.connection import wait
from typing import NamedTuple, Optional, Sequence, Union

import numpy as np
import torch

from cs285.envs.make import (VecEnv, default_num_procs, is_discrete, make_env, make_vec_env,
                                       max_episode_steps)
from cs285.envs.process_env import ProcessVecEnv
from cs285.infrastructure.rollouts import Actor, Batch, env_action, observation_array, to_path
from cs285.envs.worker_pool import NO_REPLY, WorkerPool
from cs285.networks.policies import MLPPolicy

EVAL_SEED_OFFSET = 10_000  # eval envs never share seeds with training envs
ACTION_NOISE_SEED_OFFSET = 20_000  # lock-step env i's action noise: default_rng(seed + this + i)
N_EVAL_ENVS = 8  # lock-step eval envs


class Request(NamedTuple):
    """Complete episodes: until ``min_steps`` steps, or exactly ``n_episodes``.

    deterministic: the policy's most likely action (rng None).
    action_noise_std: the env gets action + N(0, std²).
    seed: episode k's random numbers come from SeedSequence([seed, k]) (default: a draw from torch's RNG).
    stream: "train" or "eval", the lock-step envs to run in (whole-episode processes serve both).
    render, frame_skip: lock-step only: keep a frame every ``frame_skip`` steps in ``image_obs``.
    """

    min_steps: Optional[int] = None
    n_episodes: Optional[int] = None
    deterministic: bool = False
    action_noise_std: float = 0.0
    seed: Optional[int] = None
    stream: str = "train"
    render: bool = False
    frame_skip: int = 1


class _Budget:
    """The stop rule of one request (module docstring) and its finished paths."""

    def __init__(self, request: Request, max_len: int, seeds: np.random.Generator):
        if (request.min_steps is None) == (request.n_episodes is None):
            raise ValueError("a Request needs exactly one of min_steps and n_episodes")
        self.request, self.max_len = request, max_len
        if request.seed is not None:
            self.seed = request.seed
        elif request.deterministic:  # its resets: from the collector's own stream, leaving torch's RNG alone
            self.seed = int(seeds.integers(2**62))
        else:
            self.seed = int(torch.randint(2**62, ()))
        self.started = self.running = self.finished_steps = 0
        self.paths: dict[int, dict] = {}

    def next_episode(self) -> Optional[int]:
        """Start episode ``started`` if it is sure to be needed; its index, or None."""
        r = self.request
        if r.n_episodes is not None:
            may_start = self.started < r.n_episodes
        else:
            may_start = self.finished_steps + self.running * self.max_len < r.min_steps
        if not may_start:
            return None
        self.started += 1
        self.running += 1
        return self.started - 1

    def finish(self, k: int, path: dict) -> None:
        self.paths[k] = path
        self.running -= 1
        self.finished_steps += len(path["reward"])

    def episode_args(self, k: int) -> tuple:
        """run_episode's arguments after env and actor, for episode k."""
        return np.random.SeedSequence([self.seed, k]), self.request.action_noise_std, self.request.deterministic

    def result(self) -> list[dict]:
        return [self.paths[k] for k in sorted(self.paths)]


def as_actor(policy: Union[Actor, MLPPolicy]) -> Actor:
    """The collector's policy type: an MLPPolicy becomes its NumPy snapshot (current weights); an Actor stays."""
    if isinstance(policy, MLPPolicy):
        return policy.snapshot()
    if not callable(getattr(policy, "act", None)):
        raise TypeError(f"expected an Actor (act(obs, rng)) or an MLPPolicy, got {type(policy).__name__}")
    return policy


def run_episode(env, actor: Actor, seed: np.random.SeedSequence, action_noise_std: float = 0.0,
                deterministic: bool = False) -> dict:
    """One complete episode of ``actor`` in ``env``, every random number from ``seed``; a path."""
    reset_seed, policy_seed, noise_seed = seed.spawn(3)
    obs, _ = env.reset(seed=int(reset_seed.generate_state(1)[0]))
    rng = None if deterministic else np.random.default_rng(policy_seed)
    noise = np.random.default_rng(noise_seed) if action_noise_std else None
    observations, actions, rewards = [obs], [], []
    while True:
        action = actor.act(obs[None], rng)[0]
        obs, reward, terminated, truncated, _ = env.step(env_action(action, action_noise_std, noise))
        observations.append(obs)
        actions.append(action)
        rewards.append(float(reward))
        if terminated or truncated:
            return to_path(observations, actions, rewards, bool(terminated), bool(truncated))


class Collector:
    """Experience from ``env_name`` (see the module docstring).

    backend: "gymnasium" or "envpool". num_envs: lock-step training envs (segments, steps, and
    episodes on envpool). env_procs: processes that step the envs (None: every core on Linux for
    whole episodes, 1 for lock-step envs). seed: of the lock-step envs and their action noise.
    """

    def __init__(self, env_name: str, *, backend: str = "gymnasium", num_envs: int = 1,
                 env_procs: Optional[int] = None, seed: int = 0, ep_len: Optional[int] = None):
        if env_procs is not None and env_procs < 1:
            raise ValueError(f"env_procs must be at least 1, got {env_procs}")
        self._setup(env_name, backend, num_envs, env_procs, seed, ep_len, {},
                    np.random.default_rng([seed, EVAL_SEED_OFFSET]))

    @classmethod
    def over(cls, env: VecEnv) -> "Collector":
        """A collector over envs made elsewhere (e.g. a render env): every mode runs lock-step in ``env``."""
        self = cls.__new__(cls)
        self._setup(env.env_name, "given", env.num_envs, 1, 0, None, {"train": env, "eval": env},
                    np.random.default_rng(0))
        return self

    def _setup(self, env_name: str, backend: str, num_envs: int, env_procs: Optional[int], seed: int,
               ep_len: Optional[int], envs: dict[str, VecEnv], seeds: np.random.Generator) -> None:
        """Both constructors' fields; the spaces come from a whole-episode env on gymnasium, else the train envs."""
        self.env_name, self.backend, self.num_envs = env_name, backend, num_envs
        self.seed, self.ep_len, self._env_procs = seed, ep_len, env_procs
        self._seeds = seeds  # deterministic requests' episode seeds
        self._envs = envs
        self._pool: Optional[WorkerPool] = None
        self._running: Optional[dict] = None  # lock-step segments / steps: each env's episode in progress
        if backend == "gymnasium":
            self._episode_env = probe = make_env(env_name, ep_len=ep_len)  # whole episodes here when there is no pool
            self.discrete, self.max_episode_steps = is_discrete(probe), max_episode_steps(probe)
        else:
            self._episode_env, probe = None, self._lockstep("train")
            self.discrete, self.max_episode_steps = probe.discrete, probe.max_episode_steps
        self.observation_space, self.action_space = probe.observation_space, probe.action_space

    # ------------------------------------------------------------------ what runs

    @property
    def whole_episodes(self) -> bool:
        """Complete episodes run whole, each seeded on its own (gymnasium), rather than lock-step."""
        return self.backend == "gymnasium"

    def procs(self, lockstep: bool) -> int:
        """Processes stepping the envs: ``env_procs``, or its default for the mode."""
        if self._env_procs is not None:
            return self._env_procs
        return 1 if lockstep or self.backend != "gymnasium" else default_num_procs()

    def resolved(self, segments: bool = False) -> dict:
        """What runs, for config.json: backend, processes (None resolved), envs, and ``describe``'s line."""
        return {"backend": self.backend, "env_procs": self.procs(lockstep=segments), "num_envs": self.num_envs,
                "episodes_env_procs": self.procs(lockstep=not self.whole_episodes), "line": self.describe(segments)}

    def describe(self, segments: bool = False) -> str:
        """One line: backend, processes, envs in flight, for episodes (and segments / steps if ``segments``)."""
        parts = []
        if self.whole_episodes:
            parts.append(f"episodes: whole episodes in {self.procs(False)} process(es), one env each")
        else:
            parts.append(f"episodes: {self.num_envs} train + {N_EVAL_ENVS} eval envs in lock-step")
        if segments:
            where = "envpool threads" if self.backend == "envpool" else f"{self.procs(True)} process(es)"
            parts.append(f"segments/steps: {self.num_envs} envs in lock-step on {where}")
        return f"sampler: {self.backend} | " + " | ".join(parts)

    # ------------------------------------------------------------------ complete episodes

    def episodes(self, policy, *, min_steps: Optional[int] = None, n_episodes: Optional[int] = None,
                 **request) -> list[dict]:
        """Complete episodes until ``min_steps`` steps, or exactly ``n_episodes``; other Request fields as keywords."""
        return self.episodes_together(policy, [Request(min_steps, n_episodes, **request)])[0]

    def episodes_together(self, policy, requests: Sequence[Request]) -> list[list[dict]]:
        """The episodes of each request, all with the policy's current weights, sharing the processes
        (the eval episodes of iteration i beside the training batch of i + 1)."""
        actor = as_actor(policy)
        if self.discrete and any(r.action_noise_std for r in requests):
            raise ValueError("action noise needs continuous actions")
        budgets = [_Budget(r, self.max_episode_steps, self._seeds) for r in requests]
        if not self.whole_episodes:
            for b in budgets:
                self._lockstep_episodes(self._lockstep(b.request.stream), actor, b)
        elif self.procs(False) == 1:
            self._serial_episodes(actor, budgets)
        else:
            self._parallel_episodes(actor, budgets)
        return [b.result() for b in budgets]

    def _serial_episodes(self, actor: Actor, budgets: list[_Budget]) -> None:
        for b in budgets:
            while (k := b.next_episode()) is not None:
                b.finish(k, run_episode(self._episode_env, actor, *b.episode_args(k)))

    def _parallel_episodes(self, actor: Actor, budgets: list[_Budget]) -> None:
        """The budgets' episodes, each run whole by an idle worker. A failure closes the workers (the
        others' replies would otherwise wait in their pipes for the next request); the next call forks anew."""
        if self._pool is None:
            self._pool = WorkerPool(self.procs(False), lambda: _EpisodeServer(self.env_name, self.ep_len), "a sampler")
        pool = self._pool

        def next_job() -> Optional[tuple[_Budget, int]]:
            for b in budgets:
                if (k := b.next_episode()) is not None:
                    return b, k
            return None

        try:
            for conn in pool.conns:
                conn.send(("set_actor", actor))
            idle, busy = list(pool.conns), {}
            while True:
                while idle and (job := next_job()) is not None:
                    conn = idle.pop()
                    conn.send(("run_episode", *job[0].episode_args(job[1])))
                    busy[conn] = job
                if not busy:
                    return
                for conn in wait(list(busy)):
                    b, k = busy.pop(conn)
                    b.finish(k, pool.receive(conn))
                    idle.append(conn)
        except BaseException:
            pool.close()
            self._pool = None
            raise

    @staticmethod
    def _lockstep_episodes(env: VecEnv, actor: Actor, budget: _Budget) -> None:
        """Episodes of one request in ``env``'s envs stepped together; the policy is called on all
        envs with an episode in progress at once."""
        r = budget.request
        rng = None if r.deterministic else np.random.default_rng(budget.seed)
        noise = [np.random.default_rng(budget.seed + ACTION_NOISE_SEED_OFFSET + i) for i in range(env.num_envs)
                 ] if r.action_noise_std else None
        # env -> its episode's index, o_0..o_t (one more than actions), actions, rewards, frames
        running: dict[int, tuple[int, list, list, list, list]] = {}

        def launch(i: int) -> None:
            if (k := budget.next_episode()) is not None:
                running[i] = (k, [env.reset_one(i)], [], [], [env.render(i)] if r.render else [])

        for i in range(env.num_envs):
            launch(i)
        while running:
            idx = list(running)
            actions = actor.act(np.stack([running[i][1][-1] for i in idx]), rng)
            given = actions if not r.action_noise_std else np.stack(
                [env_action(a, r.action_noise_std, noise[i]) for i, a in zip(idx, actions)])
            for i, action, (next_ob, reward, terminated, truncated) in zip(idx, actions, env.step_each(idx, given)):
                k, obs, acts, rews, frames = running[i]
                obs.append(next_ob)
                acts.append(action)
                rews.append(reward)
                ended = terminated or truncated
                if r.render and (len(acts) % r.frame_skip == 0 or ended):
                    frames.append(env.render(i))
                if ended:
                    del running[i]
                    budget.finish(k, to_path(obs, acts, rews, terminated, truncated, frames if r.render else None))
                    launch(i)

    # ------------------------------------------------------------------ segments and single steps

    def segments(self, policy, steps_per_env: int, rng: Optional[np.random.Generator] = None,
                 action_noise_std: float = 0.0, truncation_as_termination: bool = False) -> tuple[Batch, list[dict]]:
        """(steps_per_env · num_envs) steps of envs that keep running across calls, env-major (each env's
        steps contiguous in time), and the episodes that ended, as {"reward": (T,)} records.

        An episode that ends inside keeps its own flag and the env starts a new one at once; the last
        step of each env's segment, if its episode goes on, is marked truncated: the episode is cut
        there (an estimator bootstraps with V(next_observation)) and the next call continues it.
        ``truncation_as_termination`` (the course's rule, run_hw2's flag) makes the env's own
        truncations (time limits) terminations before the cuts are marked: a cut ends no episode,
        so it still bootstraps.
        """
        steps, ended = self._advance(policy, steps_per_env, rng, action_noise_std)
        n, t_len = self.num_envs, steps_per_env
        env_major = lambda x: np.swapaxes(x, 0, 1).reshape(n * t_len, *x.shape[2:])  # noqa: E731
        batch = Batch.from_dict({k: env_major(v) for k, v in steps.items()})
        if truncation_as_termination:
            batch = batch.truncations_as_terminations()
        last = np.arange(t_len - 1, n * t_len, t_len)  # each env's last step
        batch.truncated[last] |= ~batch.terminated[last]  # the cut at the segment's end
        return batch, ended

    def steps(self, policy, n: int = 1, rng: Optional[np.random.Generator] = None,
              action_noise_std: float = 0.0) -> tuple[Batch, list[dict]]:
        """``n`` steps of each of the num_envs envs (time-major, n · num_envs transitions for a replay
        buffer: real next observations, terminated and truncated apart) and the episodes that ended."""
        steps, ended = self._advance(policy, n, rng, action_noise_std)
        return Batch.from_dict({k: v.reshape(-1, *v.shape[2:]) for k, v in steps.items()}), ended

    def _advance(self, policy, t_len: int, rng, noise_std: float) -> tuple[dict, list[dict]]:
        """Step the lock-step training envs ``t_len`` times: arrays (t_len, num_envs, ...) and ended episodes."""
        env, n = self._lockstep("train"), self.num_envs
        actor = as_actor(policy)
        if noise_std and self.discrete:
            raise ValueError("action noise needs continuous actions")
        if rng is None:
            rng = np.random.default_rng(int(torch.randint(2**62, ())))
        if self._running is None:
            self._running = {"obs": observation_array([env.reset_one(i) for i in range(n)]),
                             "rewards": [[] for _ in range(n)],
                             "noise": [np.random.default_rng(self.seed + ACTION_NOISE_SEED_OFFSET + i)
                                       for i in range(n)]}
        state = self._running
        cur = state["obs"]
        out = {"observation": np.empty((t_len, *cur.shape), dtype=cur.dtype), "action": None,
               "reward": np.empty((t_len, n)), "next_observation": np.empty((t_len, *cur.shape), dtype=cur.dtype),
               "terminated": np.zeros((t_len, n), dtype=bool), "truncated": np.zeros((t_len, n), dtype=bool)}
        ended = []
        start = np.zeros(n, dtype=int)  # where each env's running episode began in this call
        for t in range(t_len):
            out["observation"][t] = cur
            action = actor.act(cur, rng)
            if out["action"] is None:
                out["action"] = np.empty((t_len, *action.shape), dtype=action.dtype)
            out["action"][t] = action
            if noise_std:
                action = np.stack([env_action(a, noise_std, g) for a, g in zip(action, state["noise"])])
            (out["next_observation"][t], out["reward"][t], out["terminated"][t],
             out["truncated"][t]) = env.step_all(action)
            cur = out["next_observation"][t].copy()
            for i in np.flatnonzero(out["terminated"][t] | out["truncated"][t]):
                ended.append({"reward": np.concatenate(state["rewards"][i] + [out["reward"][start[i]:t + 1, i]])})
                state["rewards"][i], start[i] = [], t + 1
                cur[i] = env.reset_one(i)
        for i in range(n):  # the running episodes' rewards so far, for their records when they end
            state["rewards"][i].append(out["reward"][start[i]:, i].copy())
        state["obs"] = cur
        return out, ended

    # ------------------------------------------------------------------ envs

    def _lockstep(self, stream: str) -> VecEnv:
        """The lock-step envs of ``stream`` ("train" or "eval"), made on first use."""
        if stream not in self._envs:
            if stream == "eval":
                env = make_vec_env(self.env_name, N_EVAL_ENVS, seed=self.seed + EVAL_SEED_OFFSET, ep_len=self.ep_len,
                                   backend=self.backend)
            else:
                build = lambda: make_vec_env(self.env_name, self.num_envs, seed=self.seed,  # noqa: E731
                                             ep_len=self.ep_len, backend=self.backend)
                env = build() if self.procs(True) == 1 else ProcessVecEnv(build, self.procs(True))
            self._envs[stream] = env
        return self._envs[stream]

    def state_dict(self) -> dict:
        """The collector's own random stream (deterministic requests' episode seeds), for a checkpoint. The
        lock-step envs' episodes in progress are not part of it: after a load, each env starts a new one."""
        return {"seeds": self._seeds.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        self._seeds.bit_generator.state = state["seeds"]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        for env in {id(e): e for e in self._envs.values()}.values():
            env.close()
        self._envs = {}
        if self._episode_env is not None:
            self._episode_env.close()
            self._episode_env = None

    def __enter__(self) -> "Collector":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        if getattr(self, "_pool", None) is not None and self._pool.alive:
            self._pool.close()


class _EpisodeServer:
    """A worker's episodes: ``set_actor(actor)`` (no reply), then ``run_episode(...)`` for each."""

    def __init__(self, env_name: str, ep_len: Optional[int]):
        self.env_name, self.ep_len, self.env, self.actor = env_name, ep_len, None, None

    def set_actor(self, actor: Actor) -> object:
        self.actor = actor
        return NO_REPLY

    def run_episode(self, *args) -> dict:
        if self.env is None:  # built on the first episode
            self.env = make_env(self.env_name, ep_len=self.ep_len)
        return run_episode(self.env, self.actor, *args)

    def close(self) -> None:
        if self.env is not None:
            self.env.close()
