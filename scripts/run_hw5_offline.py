"""hw5 offline (the course's run_hw5_offline.py): see cs285/trainers/hw5_cli.py for what the run does.

    python scripts/run_hw5_offline.py -cfg experiments/offline/pointmass_medium_cql.yaml --dataset_dir datasets/

Flags and defaults are the course's: ``--config_file/-cfg``, ``--dataset_dir`` (required),
``--eval_interval/-ei`` (10000), ``--num_eval_trajectories/-neval`` (10),
``--num_render_trajectories/-nvid`` (accepted, unused), ``--seed`` (1; several values run one run each),
``--no_gpu/-ngpu``, ``--which_gpu/-gpu_id``,
``--log_interval`` (1). Each run writes ``data/hw5_offline_<log name>_<dd-mm-YYYY_HH-MM-SS>``; re-running a
stopped command resumes it from its checkpoint.
"""
from __future__ import annotations

from cs285.trainers import hw5_cli
from cs285.trainers.script_util import run_main, run_seeds


def parse_args(argv=None):
    """The flags (a sweep reads them through this too)."""
    return hw5_cli.parse_args("offline", argv)


if __name__ == "__main__":
    run_main(lambda: run_seeds(parse_args, hw5_cli.run_hw5))
