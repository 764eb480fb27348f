"""Errors the user can fix. The CLI prints them as one line and exits with 2."""


class UserError(Exception):
    """A problem with the config or the input that the user can fix."""


class ConfigError(UserError):
    """The config file or a --set override is invalid."""


class InputError(UserError):
    """The input file(s) cannot be read or hold no usable headlines."""


class NoHeadlines(InputError):
    """The date window holds no usable headline: an error for one run, a week to skip for a
    backfill (`cluster.jobs.run_weeks`), which catches this and nothing else; `short` is what
    the backfill's summary says about the week."""

    def __init__(self, message: str, short: str = "") -> None:
        super().__init__(message)
        self.short = short or message


class RunLocked(Exception):
    """Another run holds the output folder. The CLI prints one line and exits with 3."""


class Interrupted(BaseException):
    """Ctrl-C (SIGINT), raised by the CLI's handler in place of KeyboardInterrupt. A KeyboardInterrupt
    that passes through some C code paths makes CPython kill itself with SIGINT at exit even after
    it was handled, so `cluster run` sometimes ended by signal instead of with exit code 130."""


class Terminated(BaseException):
    """SIGTERM (e.g. `systemctl stop`), raised by the CLI's handler so that the staging folder
    and the lock are cleaned up on the way out, as for Ctrl-C."""
