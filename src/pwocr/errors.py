"""The one exception type that carries a user-facing, one-line message."""


class PwocrError(Exception):
    """A problem with the user's input (a file, a flag, a label) that the CLI prints as one line."""
