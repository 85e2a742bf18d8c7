"""Errors the engine reports to people: each carries one readable sentence."""


class GenplayError(Exception):
    """Base class for errors whose message is shown to the user as is."""


class DeviceError(GenplayError):
    """The requested compute device is unknown or not available."""


class DatasetError(GenplayError):
    """A dataset could not be found, read or understood."""


class ConfigError(GenplayError):
    """A setting is missing, of the wrong type or out of range."""


class TrainingError(GenplayError):
    """A training run stopped because a step failed (exception, NaN/Inf, out of memory)."""

    def __init__(self, message: str, step: int | None = None) -> None:
        super().__init__(message)
        self.step = step
