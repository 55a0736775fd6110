"""The run shell and the training loops, one per family, and what they use (checkpoints, run dirs, configs)."""
