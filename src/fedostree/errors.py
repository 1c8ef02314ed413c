"""The exception hierarchy. The CLI translates these once, at the boundary, into
a one-line message and an exit code."""


class FedostreeError(Exception):
    """A failure with a one-line message for the user; exit code 1."""

    exit_code = 1


class ConfigError(FedostreeError):
    """Bad input: a usage or configuration error (treefile, lockfile, products); exit code 2."""

    exit_code = 2


class ResolveError(FedostreeError):
    """The package set cannot be resolved; carries libsolv's problem explanations."""

    def __init__(self, message: str, problems: list[str]) -> None:
        super().__init__(message)
        self.problems = problems


class CommandError(FedostreeError):
    """An external command failed; the message names the exact command line and its output."""


class NothingToDo(FedostreeError):
    """rpm-ostree's exit status 77: the command had nothing to do (not an error). Verbs
    where rpm-ostree exits 0 unless asked (`--unchanged-exit-77`) pass exit_code=0."""

    exit_code = 77

    def __init__(self, message: str, *, exit_code: int = 77) -> None:
        super().__init__(message)
        self.exit_code = exit_code
