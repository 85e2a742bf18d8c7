"""The one error type that every checkpoint problem becomes."""

from app.engine.errors import GenplayError


class CheckpointError(GenplayError):
    """A checkpoint could not be read, validated or written; the message is one sentence."""
