"""Errors a user can act on. The CLI prints them as one line; anything else is a bug."""

from __future__ import annotations


class LlasoError(Exception):
    """Base class for mistakes in input or configuration that the user can fix."""


class AudioError(LlasoError, ValueError):
    """An audio input that cannot be used; names the source and the reason."""

    def __init__(self, source: str, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(f"{source}: {reason}")


class PlaceholderMismatchError(LlasoError, ValueError):
    """The number of audio placeholders differs from the number of audios given."""


class ModelNotFoundError(LlasoError, FileNotFoundError):
    """A model name or path that resolves to nothing."""
