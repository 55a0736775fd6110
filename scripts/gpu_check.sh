#!/usr/bin/env bash
# GPU check, for a machine with CUDA (about 4 minutes): the CUDA-marked tests, short hw2 and hw3 runs
# with --which_gpu 0 timed against -ngpu (the CPU), and an EGL render of MuJoCo frames.
#
#     bash scripts/gpu_check.sh            # from the repository root, with the project installed
#
# Needs the project's dependencies (pip install torch -e .); cs285 itself is imported from this tree.
# Each timed line: what ran, on which device, wall seconds, exit code. A run that fails prints
# its last lines. The hw3 runs use tiny copies of the course's configs (written to a temp dir).
set -uo pipefail
cd "$(dirname "$0")/.."
export MUJOCO_GL="${MUJOCO_GL:-egl}" PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export CS285_DATA_DIR="$(mktemp -d)"
tmp="$(mktemp -d)"
trap 'rm -rf "$CS285_DATA_DIR" "$tmp"' EXIT

python - <<'EOF'
import torch
print("torch", torch.__version__, "| CUDA available:", torch.cuda.is_available(),
      "|", torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU")
EOF
echo "== CUDA-marked tests"
python -m pytest -q -m cuda tests/test_cuda.py 2>&1 | tail -3

cat > "$tmp/dqn_cartpole.yaml" <<'EOF'
base_config: dqn_basic
env_name: CartPole-v1
total_steps: 6000
learning_starts: 1000
EOF
cat > "$tmp/dqn_pacman.yaml" <<'EOF'
base_config: dqn_atari
env_name: MsPacmanNoFrameskip-v0
total_steps: 40002
learning_starts: 500
EOF
cat > "$tmp/sac_cheetah.yaml" <<'EOF'
base_config: sac
env_name: HalfCheetah-v4
total_steps: 3000
random_steps: 500
training_starts: 500
use_soft_target_update: true
soft_target_update_rate: 0.005
actor_gradient_type: reparametrize
num_critic_networks: 2
target_critic_backup_type: min
EOF

timed() {  # timed LABEL DEVICE_FLAG COMMAND...
  local label=$1 dev=$2; shift 2
  local start rc ms
  start=$(date +%s%N)
  "$@" $dev > "$tmp/out.log" 2>&1; rc=$?
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  printf '%-34s %-16s %4d.%d s  rc=%d\n' "$label" "$dev" $((ms / 1000)) $((ms % 1000 / 100)) "$rc"
  [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && tail -5 "$tmp/out.log"
}
echo "== short runs, GPU then CPU"
for dev in "--which_gpu 0" "-ngpu"; do
  timed "hw2 HalfCheetah PG, 5 iterations" "$dev" python scripts/run_hw2.py --env_name HalfCheetah-v4 -n 5 -b 5000 \
    -rtg --use_baseline --discount 0.95 -lr 0.01 --exp_name gpucheck
  timed "hw3 DQN CartPole, 6k steps" "$dev" python scripts/run_hw3_dqn.py -cfg "$tmp/dqn_cartpole.yaml" -ei 3000
  timed "hw3 SAC HalfCheetah, 3k steps" "$dev" python scripts/run_hw3_sac.py -cfg "$tmp/sac_cheetah.yaml" -ei 3000
  # the Nature CNN's updates are where a GPU pays: 45 s of MsPacman, then the steps it got through
  timed "hw3 DQN MsPacman CNN, 45 s" "$dev" timeout -s TERM 45 python scripts/run_hw3_dqn.py \
    -cfg "$tmp/dqn_pacman.yaml" -ei 100000 --log_interval 100
  grep -o "[0-9]*/40002" "$tmp/out.log" | tail -1 | sed 's/^/    MsPacman steps done: /'
done
echo "== EGL render (MUJOCO_GL=$MUJOCO_GL)"
python scripts/benchmark_video.py --env HalfCheetah-v4 --n_videos 1 --steps 300 2>&1 | tail -4
