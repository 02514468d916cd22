"""Text-to-music backends: one small class each, found through a registry."""

from emoconvey.generate.backends.base import (
    Backend,
    BackendUnavailableError,
    GeneratedAudio,
    GenerationRequest,
)

__all__ = ["Backend", "BackendUnavailableError", "GeneratedAudio", "GenerationRequest"]
