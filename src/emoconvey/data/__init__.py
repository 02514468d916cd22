"""Dataset layer: read, validate and write AImoclips-format data."""

from emoconvey.data.audio import parse_clip_names, resolve_audio_paths
from emoconvey.data.dataset import (
    DEFAULT_MIN_RATINGS,
    Dataset,
    bundled_path,
    derive_clips,
    load_aimoclips,
    load_dataset,
    read_clips,
    read_intents,
    read_ratings,
    write_dataset,
)

__all__ = [
    "DEFAULT_MIN_RATINGS",
    "Dataset",
    "bundled_path",
    "derive_clips",
    "load_aimoclips",
    "load_dataset",
    "parse_clip_names",
    "read_clips",
    "read_intents",
    "read_ratings",
    "resolve_audio_paths",
    "write_dataset",
]
