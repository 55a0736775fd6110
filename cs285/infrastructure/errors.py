"""The two errors a script reports in one line, without a traceback (``script_util.run_main``)."""


class UserError(Exception):
    """A mistake in the user's input (a flag, a config key, a file): its message says what and how to fix it."""


class TrainingError(UserError):
    """Training went wrong in a way the user must act on (e.g. a non-finite loss)."""
