"""Off-policy speed against the machine's limit: updates/s of our agents next to a plain torch update
of the same networks, and SAC env steps/s (one update per step) next to Stable-Baselines3's SAC.

    python scripts/benchmark_updates.py [--steps 2000] [--repeats 2] [--only sac|dqn]

- SAC (256×256 ReLU, batch 256, twin Q, auto temperature; SB3's defaults): a plain torch update
  (critic step, actor + temperature step, Polyak) vs ``SACAgent.update``; then env steps/s on
  HalfCheetah-v4 of the hw3 loop (``off_policy.train_off_policy``) and of SB3's ``SAC.learn`` with
  the same sizes, learning starts and batch, run in turns (``--repeats``). SB3 is optional
  (``pip install stable-baselines3``); without it that column is skipped.
- DQN (the Nature CNN on 4×84×84 frames, batch 32, double Q as the course's mspacman.yaml: the
  online and the target network's forward on s'): a plain torch update vs ``DQNAgent.update``.
- The floor of a SAC update: only the matrix products it cannot do without (``sac_gemms``), timed
  back to back on preallocated tensors, with their GFLOP/s; no update of these networks and batch
  that multiplies its matrices with torch can be faster.
Torch runs on one thread (``CS285_TORCH_THREADS``, the project's default).
"""
from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
import torch
from torch import nn

from cs285.agents.dqn_agent import DQNAgent
from cs285.agents.sac_agent import SACAgent
from cs285.infrastructure import pytorch_util as ptu
from cs285.envs.collector import Collector
from cs285.envs.make import RandomActor
from cs285.trainers.off_policy import train_off_policy
from cs285.infrastructure.replay_buffer import ReplayBuffer
from cs285.infrastructure.rollouts import Batch
from cs285.trainers.run import Run
from cs285.trainers.script_util import run_main, set_torch_threads

ENV, OB, AC, HIDDEN, BATCH = "HalfCheetah-v4", 17, 6, 256, 256


def per_second(fn, n: int) -> float:
    fn()  # warm-up
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return n / (time.perf_counter() - start)


def plain_sac_update():
    """One SAC update written plainly in torch (the machine's reference), as a closure."""
    actor = ptu.build_mlp(OB, 2 * AC, 2, HIDDEN, "relu")
    q1, q2 = (ptu.build_mlp(OB + AC, 1, 2, HIDDEN, "relu") for _ in range(2))
    t1, t2 = (ptu.build_mlp(OB + AC, 1, 2, HIDDEN, "relu") for _ in range(2))
    log_alpha = torch.zeros((), requires_grad=True)
    critic_opt = torch.optim.Adam([*q1.parameters(), *q2.parameters()], 3e-4)
    actor_opt = torch.optim.Adam([*actor.parameters(), log_alpha], 3e-4)
    s, a, r, s2 = torch.randn(BATCH, OB), torch.rand(BATCH, AC) * 2 - 1, torch.randn(BATCH), torch.randn(BATCH, OB)
    done = torch.zeros(BATCH)

    def sample(obs):
        mu, log_std = actor(obs).chunk(2, -1)
        std = log_std.clamp(-20, 2).exp()
        u = mu + std * torch.randn_like(mu)
        logp = (-0.5 * ((u - mu) / std) ** 2 - std.log() - 0.919).sum(-1) - (2 * (0.693 - u - nn.functional.softplus(
            -2 * u))).sum(-1)
        return torch.tanh(u), logp

    def update():
        with torch.no_grad():
            a2, logp2 = sample(s2)
            sa2 = torch.cat([s2, a2], -1)
            y = r + 0.99 * (1 - done) * (torch.min(t1(sa2), t2(sa2)).squeeze(-1) - log_alpha.exp() * logp2)
        sa = torch.cat([s, a], -1)
        critic_loss = ((q1(sa).squeeze(-1) - y) ** 2).mean() + ((q2(sa).squeeze(-1) - y) ** 2).mean()
        critic_opt.zero_grad()
        critic_loss.backward()
        critic_opt.step()
        a_new, logp = sample(s)
        sa_new = torch.cat([s, a_new], -1)
        actor_loss = (log_alpha.exp().detach() * logp - torch.min(q1(sa_new), q2(sa_new)).squeeze(-1)).mean()
        alpha_loss = -(log_alpha * (logp.detach() - AC)).mean()
        actor_opt.zero_grad()
        (actor_loss + alpha_loss).backward()
        actor_opt.step()
        with torch.no_grad():
            for net, target in ((q1, t1), (q2, t2)):
                for p, tp in zip(net.parameters(), target.parameters()):
                    tp.mul_(0.995).add_(p, alpha=0.005)
    return update


def sac_gemms() -> list[tuple[int, int, int]]:
    """(m, k, n) of the matrix products one SAC update cannot do without: the critic step (actor and target
    critics forward on s'; both critics forward, their input and weight gradients) and the actor step
    (actor forward and backward; both critics forward and their input gradients down to the action, no
    weight gradients: SACAgent skips those, plain_sac_update's autograd computes them)."""
    actor = [(OB, HIDDEN), (HIDDEN, HIDDEN), (HIDDEN, 2 * AC)]
    critic = [(OB + AC, HIDDEN), (HIDDEN, HIDDEN), (HIDDEN, 1)]

    def forward(layers):
        return [(BATCH, i, o) for i, o in layers]

    def input_grads(layers, of_first: bool):
        return [(BATCH, o, i) for n, (i, o) in enumerate(layers) if n > 0 or of_first]

    def weight_grads(layers):
        return [(o, BATCH, i) for i, o in layers]

    critic_step = forward(actor) + 2 * forward(critic) + 2 * (forward(critic) + input_grads(critic, False)
                                                              + weight_grads(critic))
    actor_step = (forward(actor) + input_grads(actor, False) + weight_grads(actor)
                  + 2 * (forward(critic) + input_grads(critic, True)))
    return critic_step + actor_step


def gemm_flops(shapes: list[tuple[int, int, int]]) -> int:
    return sum(2 * m * k * n for m, k, n in shapes)


def gemm_floor(shapes: list[tuple[int, int, int]], n: int) -> tuple[float, float]:
    """(ms for all ``shapes`` back to back, GFLOP/s): torch.mm into preallocated outputs, best of ``n``."""
    operands = [(torch.randn(m, k), torch.randn(k, n_), torch.empty(m, n_)) for m, k, n_ in shapes]
    best = float("inf")
    for _ in range(n):
        start = time.perf_counter()
        for a, b, out in operands:
            torch.mm(a, b, out=out)
        best = min(best, time.perf_counter() - start)
    return 1000 * best, gemm_flops(shapes) / best / 1e9


def plain_dqn_update():
    def cnn():
        return nn.Sequential(nn.Conv2d(4, 32, 8, 4), nn.ReLU(), nn.Conv2d(32, 64, 4, 2), nn.ReLU(),
                             nn.Conv2d(64, 64, 3, 1), nn.ReLU(), nn.Flatten(), nn.Linear(3136, 512), nn.ReLU(),
                             nn.Linear(512, 9))
    q, target = cnn(), cnn()
    opt = torch.optim.Adam(q.parameters(), 1e-4, eps=1e-4)
    s, s2 = (torch.randint(0, 255, (32, 4, 84, 84), dtype=torch.uint8) for _ in range(2))
    a, r = torch.randint(0, 9, (32,)), torch.randn(32)

    def update():  # double Q, as the course's mspacman.yaml
        with torch.no_grad():
            a2 = q(s2.float() / 255).argmax(-1, keepdim=True)
            y = r + 0.99 * target(s2.float() / 255).gather(1, a2).squeeze(1)
        loss = ((q(s.float() / 255).gather(1, a[:, None]).squeeze(1) - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(q.parameters(), 10.0)
        opt.step()
    return update


def random_batch(rng, n, ob_shape, actions, dtype=np.float32) -> Batch:
    obs = rng.integers(0, 255, (n, *ob_shape)).astype(dtype) if dtype == np.uint8 else \
        rng.standard_normal((n, *ob_shape)).astype(dtype)
    return Batch(obs, actions, rng.standard_normal(n).astype(np.float32), obs.copy(), np.zeros(n, bool),
                 np.zeros(n, bool))


class _NoEval:
    """Stands in for the eval collector: the loop's evaluation at step 0 is not what is timed."""

    def episodes(self, actor, n_episodes, **request):
        return [{"reward": np.zeros(1)}]


def rates(steps: int, run) -> tuple[float, float]:
    """(env steps per wall second, per CPU second of this process) of ``run()``."""
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return steps / (time.perf_counter() - wall), steps / (time.process_time() - cpu)


def ours_sac_rates(steps: int, learning_starts: int) -> tuple[float, float]:
    """The hw3 loop's env steps/s with one SAC update per step, after ``learning_starts`` random steps."""
    with Collector(ENV, seed=0) as collector, tempfile.TemporaryDirectory() as tmp, \
            Run(flags={}, log_dir=tmp, checkpoint_minutes=1e9) as run:
        space, rng = collector.action_space, np.random.default_rng(0)
        agent = SACAgent(OB, AC, space.low, space.high, hidden_size=HIDDEN, n_layers=2)
        buffer = ReplayBuffer(steps + learning_starts, (OB,), (AC,))
        buffer.insert(collector.steps(RandomActor(space), learning_starts, rng)[0])
        return rates(steps, lambda: train_off_policy(
            run, agent, collector=collector, eval_collector=_NoEval(), buffer=buffer, explore=lambda step: agent,
            eval_actor=lambda: agent, total_steps=steps, learning_starts=0, batch_size=BATCH, eval_interval=10**9,
            num_eval_trajectories=1, log_interval=1000, rng=rng))


def sb3_sac_rates(steps: int, learning_starts: int) -> tuple[float, float] | None:
    try:
        import gymnasium as gym
        from stable_baselines3 import SAC
    except ImportError:
        return None
    model = SAC("MlpPolicy", gym.make(ENV), learning_starts=learning_starts, batch_size=BATCH, seed=0, device="cpu",
                policy_kwargs=dict(net_arch=[HIDDEN, HIDDEN]))
    model.learn(learning_starts)
    return rates(steps, lambda: model.learn(steps, reset_num_timesteps=False))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=2000, help="env steps (one update each) per timed SAC run")
    p.add_argument("--repeats", type=int, default=2, help="timings of ours and the other (SB3, plain torch), in turns")
    p.add_argument("--updates", type=int, default=200, help="updates per timed update-rate measurement")
    p.add_argument("--only", choices=("sac", "dqn"), help="time one agent's part alone")
    args = p.parse_args()
    set_torch_threads()
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    if args.only != "sac":
        dqn_rates(rng, max(args.updates // 10, 10), args.repeats)
    if args.only != "dqn":
        sac_rates(rng, args)


def dqn_rates(rng: np.random.Generator, updates: int, repeats: int) -> None:
    """The DQN update, plain torch then DQNAgent, ``repeats`` times in turns."""
    plain = plain_dqn_update()
    dqn = DQNAgent((4, 84, 84), 9, network="cnn", learning_rate=1e-4, adam_eps=1e-4, clip_grad_norm=10.0,
                   use_double_q=True)
    frames = random_batch(rng, 32, (4, 84, 84), rng.integers(0, 9, 32), dtype=np.uint8)
    for r in range(repeats):
        dqn_plain = per_second(plain, updates)
        dqn_ours = per_second(lambda: dqn.update(frames, 1), updates)
        print(f"DQN update (Nature CNN, batch 32, double Q), turn {r + 1}: plain torch {dqn_plain:.1f}/s, "
              f"DQNAgent {dqn_ours:.1f}/s ({dqn_ours / dqn_plain:.2f} of plain)")


def median_ms(fn, n: int) -> float:
    """Median ms of one ``fn()`` over ``n`` calls timed one by one."""
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def sac_rates(rng: np.random.Generator, args: argparse.Namespace) -> None:
    """The SAC update against plain torch and the matrix-product floor; then the loop against SB3, in turns."""
    plain = per_second(plain_sac_update(), args.updates)
    agent = SACAgent(OB, AC, -np.ones(AC), np.ones(AC), hidden_size=HIDDEN, n_layers=2)
    batch = random_batch(rng, BATCH, (OB,), rng.uniform(-1, 1, (BATCH, AC)).astype(np.float32))
    ours = per_second(lambda: agent.update(batch, 1), args.updates)
    print(f"SAC update (256x256, batch {BATCH}): plain torch {plain:.0f}/s, SACAgent {ours:.0f}/s "
          f"({ours / plain:.2f} of plain)")
    # the floor and the update in alternating blocks, so that the machine's drift hits both alike
    shapes = sac_gemms()
    floors, updates = [], []
    for _ in range(10):
        floors.append(gemm_floor(shapes, max(args.updates // 10, 5))[0])
        updates.append(median_ms(lambda: agent.update(batch, 1), max(args.updates // 10, 5)))
    floor_ms, update_ms = float(np.median(floors)), float(np.median(updates))
    print(f"SAC update's {len(shapes)} matrix products alone ({gemm_flops(shapes) / 1e6:.0f} MFLOP): "
          f"{floor_ms:.2f} ms ({gemm_flops(shapes) / floor_ms / 1e6:.0f} GFLOP/s), {1000 / floor_ms:.0f} updates/s "
          f"at most; SACAgent's update {update_ms:.2f} ms, {update_ms / floor_ms:.2f}x the floor (medians of 10 "
          f"alternating blocks)")
    tiny = SACAgent(OB, AC, -np.ones(AC), np.ones(AC), hidden_size=8, n_layers=2)
    tiny_batch = random_batch(rng, 8, (OB,), rng.uniform(-1, 1, (8, AC)).astype(np.float32))
    tiny_ms = median_ms(lambda: tiny.update(tiny_batch, 1), args.updates)
    print(f"The same update on 8-wide networks and a batch of 8 (its ops' dispatch and autograd, next to no "
          f"arithmetic): {tiny_ms:.2f} ms")
    for r in range(args.repeats):  # in turns: ours, then SB3's
        ours = ours_sac_rates(args.steps, 1000)
        sb3 = sb3_sac_rates(args.steps, 1000)
        theirs = "not installed" if sb3 is None else (f"{sb3[0]:.1f} steps/s ({sb3[1]:.1f} per CPU-s); ours / SB3 = "
                                                      f"{ours[0] / sb3[0]:.2f} wall, {ours[1] / sb3[1]:.2f} CPU")
        print(f"SAC on {ENV}, one update per step, run {r + 1}: ours {ours[0]:.1f} steps/s ({ours[1]:.1f} per CPU-s) "
              f"| SB3 {theirs}")

if __name__ == "__main__":
    run_main(main)
