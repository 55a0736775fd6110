"""Experiment configs: the course's base configs (dqn_basic, dqn_atari, sac) as Param tables, their log names."""
