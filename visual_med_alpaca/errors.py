"""The two kinds of failure a user can cause, so the CLI and the API can answer them cleanly.

`UserInputError` is bad input (exit code 2 / HTTP 4xx); `BackendError` is a runtime failure outside our
control, such as an unreachable server (exit code 1 / HTTP 502). Anything else is a bug and keeps its
traceback.
"""


class UserInputError(ValueError):
    """Input the user can fix: a missing file, an unknown model name, an empty question."""


class ImageTooLarge(UserInputError):
    """More pixels than allowed (checked from the header, before decoding): HTTP 413 in the API."""


class BackendError(RuntimeError):
    """A model or server that could not do its job: unreachable endpoint, failed load."""


class EngineUnavailable(BackendError):
    """The generation engine is down or restarting; the client may retry shortly (HTTP 503)."""
