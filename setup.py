from setuptools import find_packages, setup

setup(
    name="cs285",
    version="0.1.0",
    description="A fast, faithful runner for CS285-style deep RL homework (BC, DAgger, policy gradients, Q-learning, actor-critic)",
    packages=find_packages(include=["cs285", "cs285.*"]),
    package_data={"cs285.envs": ["assets/*.xml"]},  # the project's own MuJoCo models (cs285/envs/registry.py)
    python_requires=">=3.10",
    install_requires=[
        "torch>=2.1",
        # box2d: LunarLander, in the hw2 handout (a wheel, no swig, on Python < 3.14)
        "gymnasium[mujoco,classic-control,box2d]>=1.0,<2",
        "mujoco>=3.1",
        "numpy>=1.24",
        "tensorboardX>=2.6",
        "tensorboard>=2.14",
        "imageio>=2.31",
        "imageio-ffmpeg>=0.4.9",
        "tqdm>=4.60",
        "matplotlib>=3.7",
        "PyYAML>=6",  # the course's experiment configs (hw3 on)
        "ale-py>=0.10",  # Atari (hw3's MsPacman); its wheels carry the ROMs
        "opencv-python-headless>=4.8",  # Atari frames resized as the course does (gymnasium's AtariPreprocessing)
    ],
    extras_require={
        # ray and envpool: the sweep's Ray launcher and the envpool backend are tested too
        "test": ["pytest>=7", "ray>=2.9", "envpool>=1.2.5; python_version >= '3.11'"],
        "box2d": [],  # now installed by default; kept so `pip install -e .[box2d]` still works
        "ray": ["ray>=2.9"],  # scripts/sweep.py --launcher ray
        # --env_backend envpool (cs285/envs/envpool_env.py); envpool 1.2.5 wheels need Python >= 3.11
        # and pull in dm-env, optree and its asset packages, not old gym, torch or another numpy.
        "fast": ["envpool>=1.2.5"],
    },
)
