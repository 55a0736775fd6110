"""hw2: policy gradients (REINFORCE, reward-to-go, learned baseline, GAE) and beyond.

    python scripts/run_hw2.py --env_name CartPole-v0 -n 100 -b 4000 -rtg -na --exp_name cartpole_rtg_na
    python scripts/run_hw2.py --env HalfCheetah-v4 --pg_method ppo --env_backend envpool -n 245 -b 4096 \\
        --ppo_minibatch_size 512 -lr 3e-4 -blr 3e-4 --discount 0.99 -na --normalize_obs \\
        --normalize_rewards --init_log_std -1 --scalar_log_freq 10 -eb 8000
    tensorboard --logdir data

Flags, short forms and defaults follow the course's run_hw2.py. On top of it:
``--env`` spells ``--env_name``; ``--exp_name`` defaults to pg; ``--seed``
takes several values (one run each); ``--action_noise_std`` is checked to be
used with continuous actions only. As in the course, evaluation samples from
the stochastic policy. Each iteration prints its time split (update,
sampling, logging).

Time limits: an episode the env's time limit (or --ep_len) ends is truncated,
not terminated, so reward-to-go with a baseline, the baseline's targets, GAE
and the actor-critic targets add γ·V(s_T) of its real last observation.
``--truncation_as_termination`` gives the course's treatment instead (its
``terminal`` includes time limits): every episode end is terminal, nothing
bootstraps from V(s_T), and the course's estimator is reproduced exactly. It
turns episode ends only: a segment's cut (below) ends no episode, so it still
bootstraps (Collector.segments applies the rule before marking the cuts).

``--rollouts segments`` (the default of ppo) samples -b steps as --num_envs
segments of equal length from envs that keep running between batches; each
cut is marked truncated, so it bootstraps from V like a time limit, and the
Train_* statistics cover the last --num_envs episodes that finished.
``--rollouts episodes`` (every other method's default) samples complete
episodes, as the course does: episodes until -b steps. On gymnasium they run
in --env_procs processes (default: every core on Linux), each episode seeded on its
own, so the numbers are the same for any number of processes; the eval
episodes of one iteration are sampled together with the next batch (same
weights). The run's first lines name the sampler; config.json records it
(its ``sampler`` entry: backend, processes, envs). See cs285/envs/collector.py.

``--pg_method`` picks the policy update (one agent file each in cs285/agents/);
all of them take the hw2 flags above; a flag the chosen method does not use
is named in a note at the start:

  vanilla  one Adam step on the REINFORCE surrogate (pg_agent.py; the default)
  is       --n_policy_steps K Adam steps per batch, each sample weighted by
           ρ = π_θ(a|s)/π_old(a|s); --is_clip c truncates ρ to [0, c] (is_pg_agent.py)
  npg      natural gradient x = CG(F + λI, g) and θ += α x with fixed α = --npg_step_size
  trpo     the same x, scaled to the KL bound --max_kl and line-searched (npg_trpo_agent.py);
           both use --cg_iters, --cg_damping; trpo also --backtrack_coeff, --backtrack_iters
  ppo      clipped surrogate (--clip_eps) with GAE (--gae_lambda, default 0.95), --ppo_epochs
           epochs of minibatches (--ppo_minibatch_size or --n_minibatches), value loss
           (--vf_coef), entropy bonus (--ent_coef), early stop (--target_kl), gradient
           clip (--max_grad_norm), reward scaling (--normalize_rewards), learning-rate decay
           (--anneal_lr) (ppo_agent.py); implies --use_baseline
  ac       batch actor-critic: --critic_updates_per_iter steps on n-step (--n_step) targets
           from a target critic copied every --target_update_period steps, then one actor
           step on A = r + γ(1 − terminated)V(s') − V(s) (ac_agent.py); implies --use_baseline

``--normalize_obs`` (any method) keeps running observation statistics inside
the policy: merged from each batch, applied by the sampler and in the update,
saved with the policy (``--save_params``).
"""
from __future__ import annotations

import argparse
import multiprocessing

from cs285.agents.ac_agent import ActorCriticAgent
from cs285.agents.is_pg_agent import ISPGAgent
from cs285.agents.npg_trpo_agent import NaturalPGAgent
from cs285.agents.pg_agent import PGAgent
from cs285.agents.ppo_agent import PPOAgent
from cs285.infrastructure import utils
from cs285.envs.collector import Collector, Request
from cs285.envs.make import ENV_BACKENDS
from cs285.infrastructure.errors import UserError
from cs285.envs.video import VideoRecorder
from cs285.trainers.on_policy import train_on_policy
from cs285.trainers.run import Run
from cs285.trainers.script_util import add_device_args, check_flags, run_main, run_seeds
from cs285.trainers.training_logs import ConstantCriticWatch

CHECKPOINT_MINUTES = 2.0  # wall-clock minutes between checkpoints (besides the first one and one at a stop)
N_SAMPLING_ENVS = 16  # training envs stepped together: one policy call per vectorized step
PG_METHODS = ("vanilla", "is", "npg", "trpo", "ppo", "ac")
PPO_DEFAULT_GAE_LAMBDA = 0.95


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--env_name", "--env", required=True, help="e.g. CartPole-v0, HalfCheetah-v4, LunarLander-v2")
    p.add_argument("--exp_name", default="pg", help="names the run dir data/q2_pg_<exp_name>_<env>_<time>")
    p.add_argument("--n_iter", "-n", type=int, default=200)
    p.add_argument("--use_reward_to_go", "-rtg", action="store_true")
    p.add_argument("--use_baseline", action="store_true", help="learn V(s) and use Q - V as the advantage")
    p.add_argument("--normalize_advantages", "-na", action="store_true")
    p.add_argument("--baseline_learning_rate", "-blr", type=float, default=5e-3)
    p.add_argument("--baseline_gradient_steps", "-bgs", type=int, default=5)
    p.add_argument("--gae_lambda", type=float, default=None, help="GAE(lambda) advantages (needs --use_baseline)")
    p.add_argument("--batch_size", "-b", type=int, default=1000, help="env steps per policy update")
    p.add_argument("--eval_batch_size", "-eb", type=int, default=400, help="env steps of evaluation per log")
    p.add_argument("--discount", type=float, default=1.0)
    p.add_argument("--learning_rate", "-lr", type=float, default=5e-3)
    p.add_argument("--n_layers", "-l", type=int, default=2)
    p.add_argument("--layer_size", "-s", type=int, default=64)
    p.add_argument("--ep_len", type=int, help="max episode length (default: the env's time limit)")
    p.add_argument("--seed", type=int, nargs="+", default=[1], help="one run per seed")
    add_device_args(p)
    p.add_argument("--video_log_freq", type=int, default=-1, help="-1 turns videos off")
    p.add_argument("--scalar_log_freq", type=int, default=1)
    p.add_argument("--action_noise_std", type=float, default=0.0,
                   help="std of Gaussian noise added to the env's actions in training rollouts (continuous only)")
    p.add_argument("--save_params", action="store_true",
                   help="save the policy (with its observation statistics) after every iteration")
    p.add_argument("--stop_at_return", type=float, default=None,
                   help="end the run (finished) once --stop_after evaluations in a row reach this Eval_AverageReturn")
    p.add_argument("--stop_after", type=int, default=3, help="evaluations in a row for --stop_at_return")
    p.add_argument("--pg_method", choices=PG_METHODS, default="vanilla", help="policy update rule (see above)")
    p.add_argument("--normalize_obs", action="store_true",
                   help="normalize observations by running mean/var kept in the policy (any method)")
    p.add_argument("--init_log_std", type=float, default=0.0,
                   help="initial log std of the Gaussian policy (continuous actions; 0: std 1, the course's)")
    p.add_argument("--small_output_init", action="store_true",
                   help="initialize the policy's output layer 100x smaller (near-uniform initial policy)")
    p.add_argument("--normalize_rewards", action="store_true",
                   help="divide rewards by the running std of the discounted return (any method)")
    p.add_argument("--truncation_as_termination", action="store_true",
                   help="the course's treatment of time limits: an episode ended by the time limit (--ep_len or "
                        "the env's) is terminal, so reward-to-go, the baseline's targets, GAE and the actor-critic "
                        "targets never bootstrap from V(s_T) (default: they do). A segment's cut (--rollouts "
                        "segments) ends no episode and still bootstraps")
    p.add_argument("--rollouts", choices=("episodes", "segments"), default=None,
                   help="sample complete episodes (the course's way; default except for ppo) or equal-length "
                        "segments from envs that keep running, bootstrapped at each cut (default for ppo)")
    p.add_argument("--num_envs", type=int, default=N_SAMPLING_ENVS,
                   help="lock-step training envs (one policy call per vectorized step) of --rollouts segments, "
                        "and of complete episodes on envpool")
    p.add_argument("--env_backend", choices=ENV_BACKENDS, default="gymnasium",
                   help="simulator of the training and eval envs; envpool: faster, some ids only, "
                        "pip install -e .[fast] (cs285/envs/envpool_env.py)")
    p.add_argument("--env_procs", type=int, default=None,
                   help="processes that step the gymnasium envs; the numbers do not depend on it. Default: every "
                        "core on Linux for complete episodes (each process runs whole episodes), 1 for the "
                        "lock-step envs of --rollouts segments (cs285/envs/collector.py)")

    g = p.add_argument_group("is: importance-sampled PG")
    g.add_argument("--n_policy_steps", type=int, default=5, help="gradient steps K per batch")
    g.add_argument("--is_clip", type=float, default=None, help="truncate the IS weight rho to [0, c] (default: none)")

    g = p.add_argument_group("npg / trpo")
    g.add_argument("--cg_iters", type=int, default=10, help="conjugate-gradient iterations (Fisher-vector products)")
    g.add_argument("--cg_damping", type=float, default=0.1, help="lambda in (F + lambda I) x = g")
    g.add_argument("--max_kl", type=float, default=0.01, help="trpo: bound epsilon on the mean KL per step")
    g.add_argument("--npg_step_size", type=float, default=0.5, help="npg: fixed step alpha in theta += alpha x")
    g.add_argument("--backtrack_coeff", type=float, default=0.8, help="trpo: line-search shrink factor")
    g.add_argument("--backtrack_iters", type=int, default=10, help="trpo: line-search tries")

    g = p.add_argument_group("ppo")
    g.add_argument("--clip_eps", type=float, default=0.2, help="epsilon of the clipped surrogate")
    g.add_argument("--ppo_epochs", type=int, default=10, help="passes over each batch")
    g.add_argument("--ppo_minibatch_size", type=int, default=64, help="env steps per minibatch")
    g.add_argument("--n_minibatches", type=int, default=None,
                   help="split each batch into this many minibatches (overrides --ppo_minibatch_size)")
    g.add_argument("--vf_coef", type=float, default=0.5, help="weight of the value loss")
    g.add_argument("--ent_coef", type=float, default=0.0, help="weight of the entropy bonus")
    g.add_argument("--target_kl", type=float, default=None,
                   help="stop a batch's epochs once a minibatch's approx KL exceeds this (default: never)")
    g.add_argument("--max_grad_norm", type=float, default=0.5,
                   help="clip the joint policy + critic gradient norm (<= 0: no clip)")
    g.add_argument("--anneal_lr", action="store_true",
                   help="decay both learning rates linearly to 0 over the run")

    g = p.add_argument_group("ac: batch actor-critic")
    g.add_argument("--critic_updates_per_iter", type=int, default=100, help="critic gradient steps per batch")
    g.add_argument("--target_update_period", type=int, default=10,
                   help="critic steps between copies of the critic into the target critic")
    g.add_argument("--n_step", type=int, default=1, help="rewards summed before bootstrapping with V_target")
    return p


AGENTS = {"vanilla": PGAgent, "is": ISPGAgent, "npg": NaturalPGAgent, "trpo": NaturalPGAgent, "ppo": PPOAgent,
          "ac": ActorCriticAgent}
# flags of one method's group, and the methods that read them
METHOD_FLAGS = {
    "n_policy_steps": ("is",), "is_clip": ("is",), "cg_iters": ("npg", "trpo"), "cg_damping": ("npg", "trpo"),
    "max_kl": ("trpo",), "npg_step_size": ("npg",), "backtrack_coeff": ("trpo",), "backtrack_iters": ("trpo",),
    "clip_eps": ("ppo",), "ppo_epochs": ("ppo",), "ppo_minibatch_size": ("ppo",), "n_minibatches": ("ppo",),
    "vf_coef": ("ppo",), "ent_coef": ("ppo",), "target_kl": ("ppo",), "max_grad_norm": ("ppo",),
    "critic_updates_per_iter": ("ac",), "target_update_period": ("ac",), "n_step": ("ac",),
}


def ignored_flag_notes(args: argparse.Namespace, parser: argparse.ArgumentParser) -> list[str]:
    """One note per flag set away from its default that ``--pg_method`` does not use."""
    flag = {a.dest: a.option_strings[-1] for a in parser._actions}
    changed = [d for d in flag if d in vars(args) and getattr(args, d) != parser.get_default(d)]
    notes = [f"--pg_method {args.pg_method} ignores {flag[d]}: {reason}"
             for d, reason in AGENTS[args.pg_method].IGNORED_FLAGS.items() if d in changed]
    notes += [f"--pg_method {args.pg_method} ignores {flag[d]}: it is an option of --pg_method {' / '.join(m)}"
              for d, m in METHOD_FLAGS.items() if d in changed and args.pg_method not in m]
    bootstraps = args.pg_method in ("ppo", "ac") or (args.use_baseline and (args.use_reward_to_go
                                                                            or args.gae_lambda is not None))
    if args.truncation_as_termination and not bootstraps:
        notes.append(f"--pg_method {args.pg_method} ignores --truncation_as_termination: without -rtg or "
                     "--gae_lambda on a --use_baseline critic no estimate bootstraps from V(s_T)")
    return notes


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    check_flags(args, at_least_1=(
        "n_iter", "batch_size", "eval_batch_size", "baseline_gradient_steps", "n_layers", "layer_size", "ep_len",
        "scalar_log_freq", "num_envs", "env_procs", "n_policy_steps", "cg_iters", "backtrack_iters", "ppo_epochs",
        "ppo_minibatch_size", "n_minibatches", "critic_updates_per_iter", "target_update_period", "n_step",
        "stop_after"),
        positive=("learning_rate", "baseline_learning_rate", "is_clip", "max_kl", "npg_step_size", "clip_eps",
                  "target_kl"),
        non_negative=("cg_damping", "vf_coef", "ent_coef", "action_noise_std"),
        fraction=("discount", "gae_lambda"))
    if not 0.0 < args.backtrack_coeff < 1.0:
        raise UserError(f"--backtrack_coeff must lie in (0, 1) (got {args.backtrack_coeff})")
    if args.pg_method == "ac" and args.gae_lambda is not None:
        raise UserError("--pg_method ac uses n-step advantages (--n_step), not --gae_lambda")
    if args.anneal_lr and args.pg_method != "ppo":
        raise UserError("--anneal_lr is a PPO option: add --pg_method ppo or drop it")
    for note in ignored_flag_notes(args, parser):
        print(f"Note: {note}")
    if args.rollouts is None:
        args.rollouts = "segments" if args.pg_method == "ppo" else "episodes"
    if args.pg_method in ("ppo", "ac"):
        args.use_baseline = True  # both always learn V(s)
    if args.pg_method == "ppo" and args.gae_lambda is None:
        args.gae_lambda = PPO_DEFAULT_GAE_LAMBDA
    if args.gae_lambda is not None and not args.use_baseline:
        raise UserError("--gae_lambda needs a value function: add --use_baseline")
    if (args.env_procs or 1) > 1 and args.env_backend != "gymnasium":
        raise UserError("--env_procs spreads gymnasium envs over processes; envpool runs its own threads: "
                        "drop --env_procs or use --env_backend gymnasium")
    if (args.env_procs or 1) > 1 and "fork" not in multiprocessing.get_all_start_methods():
        raise UserError("--env_procs > 1 needs the 'fork' start method (Linux): drop --env_procs")
    return args


def make_agent(args: argparse.Namespace, ob_dim: int, ac_dim: int, discrete: bool) -> PGAgent:
    """The agent ``--pg_method`` names, with its flags."""
    common = dict(
        discount=args.discount, use_reward_to_go=args.use_reward_to_go, use_baseline=args.use_baseline,
        baseline_learning_rate=args.baseline_learning_rate, baseline_gradient_steps=args.baseline_gradient_steps,
        gae_lambda=args.gae_lambda, normalize_advantages=args.normalize_advantages,
        normalize_obs=args.normalize_obs, init_log_std=args.init_log_std, small_output_init=args.small_output_init,
        normalize_rewards=args.normalize_rewards,
    )
    net = (ob_dim, ac_dim, discrete, args.n_layers, args.layer_size, args.learning_rate)
    method = args.pg_method
    if method == "vanilla":
        return PGAgent(*net, **common)
    if method == "is":
        return ISPGAgent(*net, n_policy_steps=args.n_policy_steps, is_clip=args.is_clip, **common)
    if method in ("npg", "trpo"):
        return NaturalPGAgent(*net, trust_region=method == "trpo", cg_iters=args.cg_iters,
                              cg_damping=args.cg_damping, max_kl=args.max_kl, npg_step_size=args.npg_step_size,
                              backtrack_coeff=args.backtrack_coeff, backtrack_iters=args.backtrack_iters, **common)
    if method == "ppo":
        return PPOAgent(*net, clip_eps=args.clip_eps, ppo_epochs=args.ppo_epochs,
                        ppo_minibatch_size=args.ppo_minibatch_size, n_minibatches=args.n_minibatches,
                        vf_coef=args.vf_coef, ent_coef=args.ent_coef, target_kl=args.target_kl,
                        max_grad_norm=args.max_grad_norm if args.max_grad_norm > 0 else None, **common)
    return ActorCriticAgent(*net, critic_updates_per_iter=args.critic_updates_per_iter,
                            target_update_period=args.target_update_period, n_step=args.n_step, **common)


LOSS_HINTS = {
    "npg": "lower --npg_step_size or raise --cg_damping",
    "trpo": "lower --max_kl or raise --cg_damping",
}


def run(args: argparse.Namespace, seed: int) -> dict[str, float]:
    """One policy-gradient run (cs285/trainers/on_policy.py); returns the last logged iteration's row.
    Re-running the command of a stopped or killed run resumes it."""
    utils.seed_everything(seed)
    collector = Collector(args.env_name, backend=args.env_backend, num_envs=args.num_envs,
                          env_procs=args.env_procs, seed=seed, ep_len=args.ep_len)
    if collector.discrete and (args.action_noise_std or args.init_log_std != 0):
        collector.close()
        if args.action_noise_std:
            raise UserError(f"--action_noise_std needs continuous actions; {args.env_name} has discrete ones")
        raise UserError(f"--init_log_std sets a Gaussian's std; {args.env_name} has discrete actions")
    ob_dim = collector.observation_space.shape[0]
    ac_dim = collector.action_space.n if collector.discrete else collector.action_space.shape[0]
    agent = make_agent(args, ob_dim, ac_dim, collector.discrete)
    segments = args.rollouts == "segments"
    videos = VideoRecorder(args.env_name, ep_len=args.ep_len, seed=seed) if args.video_log_freq > 0 else None
    # the flags stay as given in config.json (sweeps match runs on them); "sampler" records what ran
    with Run(prefix="q2_pg_", log_name=f"{args.exp_name}_{args.env_name}", flags={**vars(args), "seed": seed},
             sampler=collector.resolved(segments), checkpoint_minutes=CHECKPOINT_MINUTES,
             closing=(collector,) + ((videos,) if videos else ())) as shell:
        return train_on_policy(
            shell, agent, collector=collector, n_iter=args.n_iter, batch_size=args.batch_size,
            eval_request=Request(min_steps=args.eval_batch_size, stream="eval"),
            evaluate_at=lambda itr: itr % args.scalar_log_freq == 0, segments=segments,
            action_noise_std=args.action_noise_std, truncation_as_termination=args.truncation_as_termination,
            lr_fraction=(lambda itr: 1.0 - itr / args.n_iter) if args.anneal_lr else None,
            loss_hint=LOSS_HINTS.get(args.pg_method, "lower --learning_rate or --baseline_learning_rate"),
            critic_watch=ConstantCriticWatch("try --normalize_rewards, which brings them near unit scale"
                                             if not args.normalize_rewards else "try a lower --baseline_learning_rate"),
            video=videos, video_log_freq=args.video_log_freq, save_params=args.save_params,
            stop_at=None if args.stop_at_return is None else (args.stop_at_return, args.stop_after))

if __name__ == "__main__":
    run_main(lambda: run_seeds(parse_args, run))
