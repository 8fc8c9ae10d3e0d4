"""Errors that reach the user as one clear line instead of a traceback."""


class UserError(Exception):
    """Bad input or configuration: printed as one line, exit status non-zero."""
