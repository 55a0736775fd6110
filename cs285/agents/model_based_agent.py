"""hw4's model-based agent: an ensemble of learned dynamics models and model-predictive control.

Dynamics (Nagabandi et al. 2018, arXiv:1708.02596; ensembles as in PETS, Chua et al. 2018,
arXiv:1805.12114). Member m is a tanh MLP f_m (``num_layers`` x ``hidden_size``) on normalized
inputs that predicts the normalized change of state:
    z = ([s, a] - mu_sa) / (sigma_sa + EPS),     Δ̂_m = f_m(z) (sigma_Δ + EPS) + mu_Δ,     ŝ' = s + Δ̂_m
    dynamics_loss_m = mean_{batch, ob_dim} (f_m(z) - (s' - s - mu_Δ) / (sigma_Δ + EPS))^2   (the course's MSELoss)
mu, sigma: mean and (unbiased) std over the whole replay buffer, refreshed by ``update_statistics``
once per iteration, as the course's ``run_hw4.py`` does before training.

Training. The course calls ``update(i, obs, acs, next_obs)`` once per member, each on its own
``replay_buffer.sample(train_batch_size)``. Here one ``update(batch, step)`` takes
``ensemble_size * train_batch_size`` sampled transitions and member m learns from rows
[m B, (m + 1) B). One Adam step on sum_m dynamics_loss_m is the course's per-member steps: member m's
weights get the gradient of its own loss only, and Adam is elementwise.

Planning (``plan``, the course's ``get_action``) from an observation s_0:
1. N = ``mpc_num_action_sequences`` sequences a_{n,0..H-1}, uniform in [action_low, action_high]^{H x ac_dim}.
2. Every member rolls out every sequence on its own trajectory, s_{m,n,t+1} = ŝ'_m(s_{m,n,t}, a_{n,t}):
   one ``EnsembleMLP`` call per horizon step for all (m, n).
   R_n = (1/M) sum_m sum_{t<H} r(s_{m,n,t+1}, a_{n,t}), r from the env's batched ``get_reward``; undiscounted.
   The dones ``get_reward`` returns are ignored, as in the course ("You can ignore `dones`"); they only
   matter for obstacles-cs285-v0, whose done is reaching the goal or leaving the box.
3. random: the first action of argmax_n R_n.
   cem (Botev et al. 2013, as the course's handout and PETS use it): iteration 0 scores the uniform
   sequences and fits mean, std (per time step and action dimension, ddof 0) to the J = ``cem_num_elites``
   best; each of the ``cem_num_iters`` - 1 later iterations draws N sequences from N(mean, std^2), clipped
   to the bounds, scores them and smooths:  mean <- alpha elite_mean + (1 - alpha) mean, same for std
   (the course's HINT: iteration 0 initializes them). The action is the final mean's first action.
All random numbers come from the ``rng`` handed in (the collector's), in the order written above.
"""
from __future__ import annotations

from typing import Callable, Optional

import numpy as np
import torch

from cs285.infrastructure import pytorch_util as ptu
from cs285.infrastructure.rollouts import Actor, Batch
from cs285.networks.ensemble import EnsembleMLP

EPS = 1e-8  # added to every std before dividing by it (the course's HINT 3; 1e-8 as its old normalize helper)
EVAL_SEED = 0  # act(obs, rng=None): plan with a fresh default_rng(EVAL_SEED), a deterministic function of obs
MPC_STRATEGIES = ("random", "cem")
# a planner block's widest hidden activation: 768 KiB, within a core's L2. On the cheetah's 3 x 1000 x 250, blocks
# of 250 sequences multiplied at 115 GFLOP/s against 95 unblocked (two threads; scripts/benchmark_planner.py)
CHUNK_FLOATS = 3 * 256 * 256
STATISTICS = ("obs_acs_mean", "obs_acs_std", "obs_delta_mean", "obs_delta_std")

RewardFn = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def normalize(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """(x - mean) / (std + EPS)."""
    return (x - mean) / (std + EPS)


def unnormalize(z: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """z (std + EPS) + mean, the inverse of ``normalize``."""
    return z * (std + EPS) + mean


class ModelBasedAgent:
    def __init__(self, ob_dim: int, ac_dim: int, action_low: np.ndarray, action_high: np.ndarray,
                 get_reward: RewardFn, hidden_size: int = 128, num_layers: int = 3, learning_rate: float = 1e-3,
                 ensemble_size: int = 3, mpc_horizon: int = 10, mpc_strategy: str = "random",
                 mpc_num_action_sequences: int = 1000, cem_num_iters: Optional[int] = None,
                 cem_num_elites: Optional[int] = None, cem_alpha: Optional[float] = None):
        """Defaults: the course's ``mpc_config``.

        action_low, action_high: (ac_dim,) finite bounds the sequences are drawn in.
        get_reward: the env's batched ``get_reward(observations (n, ob_dim), actions (n, ac_dim)) -> (rewards (n,),
            dones (n,))`` (``env.unwrapped.get_reward``), a pure function: the agent never holds the env.
        cem_num_iters, cem_num_elites, cem_alpha: required with ``mpc_strategy='cem'``, refused otherwise.
        """
        if mpc_strategy not in MPC_STRATEGIES:
            raise ValueError(f"mpc_strategy must be one of {', '.join(MPC_STRATEGIES)}, got {mpc_strategy!r}")
        cem = (cem_num_iters, cem_num_elites, cem_alpha)
        if mpc_strategy == "cem":
            if None in cem:
                raise ValueError("mpc_strategy 'cem' needs cem_num_iters, cem_num_elites and cem_alpha")
            if cem_num_iters < 1 or not 1 <= cem_num_elites <= mpc_num_action_sequences or not 0 < cem_alpha <= 1:
                raise ValueError(f"need cem_num_iters >= 1, 1 <= cem_num_elites <= mpc_num_action_sequences and "
                                 f"0 < cem_alpha <= 1, got {cem_num_iters}, {cem_num_elites}, {cem_alpha}")
        elif any(v is not None for v in cem):
            raise ValueError(f"cem_* settings are CEM's; mpc_strategy is {mpc_strategy!r}")
        self.ob_dim, self.ac_dim = ob_dim, ac_dim
        self.action_low = np.asarray(action_low, dtype=np.float32)
        self.action_high = np.asarray(action_high, dtype=np.float32)
        self.get_reward = get_reward
        self.ensemble_size, self.mpc_horizon, self.mpc_strategy = ensemble_size, mpc_horizon, mpc_strategy
        self.mpc_num_action_sequences = mpc_num_action_sequences
        self.cem_num_iters, self.cem_num_elites, self.cem_alpha = cem

        self.dynamics_models = EnsembleMLP(ensemble_size, ob_dim + ac_dim, ob_dim, num_layers, hidden_size)
        self.dynamics_models.to(ptu.device)
        self.optimizer = ptu.adam(self.dynamics_models.parameters(), learning_rate)
        self.obs_acs_mean = torch.zeros(ob_dim + ac_dim, device=ptu.device)
        self.obs_acs_std = torch.ones(ob_dim + ac_dim, device=ptu.device)
        self.obs_delta_mean = torch.zeros(ob_dim, device=ptu.device)
        self.obs_delta_std = torch.ones(ob_dim, device=ptu.device)

    # ---- the model --------------------------------------------------------------------------
    @torch.no_grad()
    def update_statistics(self, obs: np.ndarray, acs: np.ndarray, next_obs: np.ndarray) -> None:
        """mu, sigma of [s, a] and of Δ = s' - s over all n transitions (the whole buffer).
        obs, next_obs: (n, ob_dim); acs: (n, ac_dim)."""
        obs, acs, next_obs = (ptu.from_numpy(x) for x in (obs, acs, next_obs))
        obs_acs, deltas = torch.cat([obs, acs], dim=1), next_obs - obs
        self.obs_acs_mean, self.obs_acs_std = obs_acs.mean(dim=0), obs_acs.std(dim=0)
        self.obs_delta_mean, self.obs_delta_std = deltas.mean(dim=0), deltas.std(dim=0)

    def _normalized_deltas(self, obs: torch.Tensor, acs: torch.Tensor) -> torch.Tensor:
        """f_m(z): obs (M, n, ob_dim), acs (M, n, ac_dim) -> (M, n, ob_dim), in normalized units."""
        return self.dynamics_models(normalize(torch.cat([obs, acs], dim=-1), self.obs_acs_mean, self.obs_acs_std))

    def predict_next_obs(self, obs: torch.Tensor, acs: torch.Tensor) -> torch.Tensor:
        """ŝ'_m = s + Δ̂_m for member m on row m: obs (M, n, ob_dim), acs (M, n, ac_dim) -> (M, n, ob_dim)."""
        return obs + unnormalize(self._normalized_deltas(obs, acs), self.obs_delta_mean, self.obs_delta_std)

    @torch.no_grad()
    def get_dynamics_predictions(self, i: int, obs: np.ndarray, acs: np.ndarray) -> np.ndarray:
        """The course's accessor: member i's ŝ' for obs (n, ob_dim), acs (n, ac_dim) -> (n, ob_dim)."""
        obs, acs = ptu.from_numpy(obs), ptu.from_numpy(acs)
        everyone = self.predict_next_obs(obs.expand(self.ensemble_size, *obs.shape),
                                         acs.expand(self.ensemble_size, *acs.shape))
        return ptu.to_numpy(everyone[i])

    @torch.no_grad()
    def open_loop(self, obs: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """Every member's prediction of the states that ``actions`` (T, ac_dim) lead to from obs (ob_dim,), each
        member on its own predictions (no real state after the first): (M, T, ob_dim), row t is ŝ_{m,t+1}."""
        states = ptu.from_numpy(obs).expand(self.ensemble_size, 1, self.ob_dim)
        predicted = []
        for action in ptu.from_numpy(actions):
            states = self.predict_next_obs(states, action.expand(self.ensemble_size, 1, self.ac_dim))
            predicted.append(states[:, 0])
        if not predicted:
            return np.zeros((self.ensemble_size, 0, self.ob_dim))
        return ptu.to_numpy(torch.stack(predicted, dim=1))

    @torch.no_grad()
    def model_rollout(self, actor: Actor, obs: np.ndarray, length: int, rng: np.random.Generator) -> Batch:
        """MBPO's rollout (the course's ``collect_mbpo_rollout``): from obs (ob_dim,), ``length`` steps of
        a_t = actor.act(s_t, rng), s_{t+1} = (1/M) sum_m ŝ'_m(s_t, a_t) (the course: "average the ensemble
        predictions directly"), r_t = get_reward(s_{t+1}, a_t) (the reward ``step`` gives for landing in
        s_{t+1}). No step is terminated or truncated (the course stores done False)."""
        observations, actions, rewards, next_observations = [], [], [], []
        for _ in range(length):
            action = actor.act(obs[None], rng)  # (1, ac_dim)
            acs = ptu.from_numpy(action).expand(self.ensemble_size, 1, self.ac_dim)
            states = ptu.from_numpy(obs).expand(self.ensemble_size, 1, self.ob_dim)
            next_obs = ptu.to_numpy(self.predict_next_obs(states, acs).mean(dim=0))  # (1, ob_dim)
            reward, _ = self.get_reward(next_obs, action)
            observations.append(obs), actions.append(action[0]), rewards.append(np.asarray(reward)[0])
            next_observations.append(next_obs[0])
            obs = next_obs[0]
        never = np.zeros(length, dtype=bool)
        states = lambda rows: np.asarray(rows, np.float32).reshape(length, self.ob_dim)  # noqa: E731
        return Batch(states(observations), np.asarray(actions, np.float32).reshape(length, self.ac_dim),
                     np.asarray(rewards, np.float32), states(next_observations), never, never.copy())

    def update(self, batch: Batch, step: int) -> dict[str, float]:
        """One Adam step of every member on its own block of ``len(batch) / ensemble_size`` rows (module docstring).
        ``step`` is not used; neither are rewards nor the episode flags (a transition into a terminal or
        truncated state is still a true transition)."""
        n = len(batch.observations)
        if n % self.ensemble_size:
            raise ValueError(f"update needs ensemble_size ({self.ensemble_size}) equal blocks, got {n} transitions")
        shape = (self.ensemble_size, n // self.ensemble_size)
        obs, acs, next_obs = (ptu.from_numpy(x).reshape(*shape, -1)
                              for x in (batch.observations, batch.actions, batch.next_observations))
        targets = normalize(next_obs - obs, self.obs_delta_mean, self.obs_delta_std)  # (M, B, ob_dim)
        losses = ((self._normalized_deltas(obs, acs) - targets) ** 2).mean(dim=(1, 2))  # (M,)
        ptu.optimizer_step(self.optimizer, losses.sum())
        return {"dynamics_loss": losses.mean().item()}

    def state_dict(self) -> dict:
        """The ensemble, its Adam state and the normalization statistics."""
        return {"dynamics_models": self.dynamics_models.state_dict(), "optimizer": self.optimizer.state_dict(),
                **{k: getattr(self, k).clone() for k in STATISTICS}}

    def load_state_dict(self, state: dict) -> None:
        self.dynamics_models.load_state_dict(state["dynamics_models"])
        self.optimizer.load_state_dict(state["optimizer"])
        for k in STATISTICS:
            setattr(self, k, state[k].to(ptu.device).clone())

    # ---- planning ---------------------------------------------------------------------------
    @torch.no_grad()
    def evaluate_action_sequences(self, obs: np.ndarray, action_sequences: np.ndarray) -> np.ndarray:
        """R_n, the ensemble's mean undiscounted return of each sequence: obs (ob_dim,) (or (N, ob_dim), sequence
        n's own start), action_sequences (N, H, ac_dim) -> (N,). Rows of the rollout are (member, sequence); dones
        are ignored (module docstring).

        Each horizon step is one batched pass for every member and sequence, cut into blocks of sequences so
        that a block's hidden activations stay in the CPU's cache (``CHUNK_FLOATS``), through the ensemble's
        ``forward_inference`` (normalization of Δ and tanh folded into its weights). Then one ``get_reward``."""
        m, (n, horizon, ac_dim) = self.ensemble_size, action_sequences.shape
        net = self.dynamics_models
        layers = net.inference_layers(self.obs_delta_std + EPS, self.obs_delta_mean)  # f(z) -> Δ̂
        in_shift, in_scale = self.obs_acs_mean, 1.0 / (self.obs_acs_std + EPS)
        widest = max(w.shape[-1] for w, _ in layers)
        rows = n if ptu.device.type != "cpu" else max(1, CHUNK_FLOATS // (m * widest))
        obs_acs = torch.empty(m, n, self.ob_dim + ac_dim, device=ptu.device)  # [s_{m,n,t}, a_{n,t}]
        states = obs_acs[..., :self.ob_dim]  # a view, stepped in place
        states.copy_(ptu.from_numpy(obs).expand(m, n, self.ob_dim))
        actions = ptu.from_numpy(action_sequences)
        sum_of_rewards = np.zeros((m, n))
        for t in range(horizon):
            obs_acs[..., self.ob_dim:] = actions[:, t]  # the same a_{n,t} for every member
            for start in range(0, n, rows):
                block = obs_acs[:, start:start + rows]
                states[:, start:start + rows] += net.forward_inference(layers, (block - in_shift) * in_scale)
            acs = np.broadcast_to(action_sequences[:, t], (m, n, ac_dim)).reshape(m * n, ac_dim)
            rewards, _ = self.get_reward(ptu.to_numpy(states).reshape(m * n, self.ob_dim), acs)
            sum_of_rewards += np.asarray(rewards).reshape(m, n)
        return sum_of_rewards.mean(axis=0)

    def _uniform_sequences(self, rng: np.random.Generator) -> np.ndarray:
        size = (self.mpc_num_action_sequences, self.mpc_horizon, self.ac_dim)
        return rng.uniform(self.action_low, self.action_high, size=size).astype(np.float32)

    def plan(self, obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The MPC action for one observation (ob_dim,) -> (ac_dim,) (module docstring, steps 1-3)."""
        action_sequences = self._uniform_sequences(rng)  # (N, H, ac_dim)
        if self.mpc_strategy == "random":
            return action_sequences[np.argmax(self.evaluate_action_sequences(obs, action_sequences)), 0]
        elite_mean = elite_std = None
        for i in range(self.cem_num_iters):
            if i > 0:
                noise = rng.standard_normal(action_sequences.shape).astype(np.float32)
                action_sequences = np.clip(elite_mean + elite_std * noise, self.action_low, self.action_high)
            returns = self.evaluate_action_sequences(obs, action_sequences)
            elites = action_sequences[np.argsort(returns)[-self.cem_num_elites:]]  # (J, H, ac_dim)
            if i == 0:
                elite_mean, elite_std = elites.mean(axis=0), elites.std(axis=0)
            else:
                a = self.cem_alpha
                elite_mean = a * elites.mean(axis=0) + (1 - a) * elite_mean
                elite_std = a * elites.std(axis=0) + (1 - a) * elite_std
        return elite_mean[0]

    def act(self, obs: np.ndarray, rng: Optional[np.random.Generator]) -> np.ndarray:
        """The Actor protocol: obs (n, ob_dim) -> actions (n, ac_dim), one ``plan`` per row, all drawing from ``rng``;
        rng None (evaluation): from a fresh ``default_rng(EVAL_SEED)`` per row, so the action depends on obs only."""
        return np.stack([self.plan(o, np.random.default_rng(EVAL_SEED) if rng is None else rng)
                         for o in np.asarray(obs, dtype=np.float32)])
