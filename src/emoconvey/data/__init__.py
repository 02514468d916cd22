"""Dataset layer: read, validate and write AImoclips-format data."""

from emoconvey.data import dataset
from emoconvey.data.audio import parse_clip_names, resolve_audio_paths
from emoconvey.data.dataset import *  # noqa: F403 (the names in dataset.__all__)

# the package exports all of the dataset module, and two audio helpers
__all__ = ["parse_clip_names", "resolve_audio_paths"]
__all__ += dataset.__all__
