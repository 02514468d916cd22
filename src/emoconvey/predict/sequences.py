"""Variable-length feature sequences (audio frames, text tokens) as padded arrays.

Frame-level extractors (:mod:`emoconvey.predict.extractors.frames`) give each clip a
``(frames, dim)`` array of its own length, and text encoders a ``(tokens, dim)`` array per
prompt. :class:`Sequences` holds a batch of them zero-padded to the longest with their
lengths, optionally with the clips' text tokens attached, and is what sequence heads
(``temporal``) take instead of a feature matrix. It indexes like an array (``seq[rows]``)
so that splits and folds work unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from emoconvey.errors import EmoconveyError

__all__ = ["Sequences", "join_features", "pool_frames"]


def pool_frames(frames: np.ndarray) -> np.ndarray:
    """Clip-level statistics of a ``(frames, dim)`` array: mean and standard deviation."""
    frames = np.asarray(frames, dtype=np.float32)
    return np.concatenate([frames.mean(axis=0), frames.std(axis=0)])


@dataclass(frozen=True)
class Sequences:
    """A batch of variable-length sequences, zero-padded.

    Attributes
    ----------
    data : ndarray, shape (n, max_length, dim), float32
        Row ``i`` holds ``lengths[i]`` valid steps, then zeros.
    lengths : ndarray, shape (n,), int64
        Valid steps per row (at least 1).
    text : Sequences, optional
        The text tokens of each row (for text-conditioned targets).
    """

    data: np.ndarray
    lengths: np.ndarray
    text: Sequences | None = None

    @classmethod
    def from_list(cls, arrays: Sequence[np.ndarray]) -> Sequences:
        """Pad ``(length_i, dim)`` arrays into one batch."""
        if not len(arrays):
            return cls(np.zeros((0, 1, 0), np.float32), np.zeros(0, np.int64))
        dims = {np.asarray(a).shape[1] for a in arrays}
        if len(dims) != 1 or any(np.asarray(a).ndim != 2 or len(a) == 0 for a in arrays):
            raise EmoconveyError(
                "frame features: expected non-empty (frames, dim) arrays of one dim, got "
                f"dims {sorted(dims)}"
            )
        lengths = np.array([len(a) for a in arrays], np.int64)
        data = np.zeros((len(arrays), int(lengths.max()), dims.pop()), np.float32)
        for i, a in enumerate(arrays):
            data[i, : len(a)] = a
        return cls(data, lengths)

    def __len__(self) -> int:
        return len(self.lengths)

    def __getitem__(self, rows: np.ndarray | slice | Sequence[int]) -> Sequences:
        lengths = self.lengths[rows]
        width = int(lengths.max()) if len(lengths) else 1
        text = None if self.text is None else self.text[rows]
        return Sequences(self.data[rows][:, :width], lengths, text)

    @property
    def dim(self) -> int:
        """Feature dimension."""
        return int(self.data.shape[2])

    @property
    def mask(self) -> np.ndarray:
        """``(n, max_length)`` bool, True on valid steps."""
        return np.arange(self.data.shape[1])[None, :] < self.lengths[:, None]

    def is_finite(self) -> np.ndarray:
        """Per row: whether every valid step is finite."""
        bad = ~np.isfinite(self.data).all(axis=2) & self.mask
        return ~bad.any(axis=1)

    def pooled(self) -> np.ndarray:
        """``(n, 2 * dim)``: each row's :func:`pool_frames` statistics."""
        return np.vstack([pool_frames(self.data[i, :n]) for i, n in enumerate(self.lengths)])

    def with_text(self, text: Sequences | None) -> Sequences:
        """The same frames with ``text`` attached (one text sequence per row)."""
        if text is not None and len(text) != len(self):
            raise EmoconveyError(
                f"text features: expected {len(self)} rows (one per clip), got {len(text)}"
            )
        return Sequences(self.data, self.lengths, text)


def join_features(X: np.ndarray | Sequences, T: np.ndarray | Sequences | None
                  ) -> np.ndarray | Sequences:
    """The input of a head that reads audio ``X`` and text ``T``.

    Matrices are joined side by side (MusicEval's textual-alignment head);
    :class:`Sequences` get the text tokens attached for cross-attention.
    """
    if isinstance(X, Sequences):
        if T is not None and not isinstance(T, Sequences):
            raise EmoconveyError("frame features need token-level text features")
        return X.with_text(T)
    if T is None:
        return X
    return np.hstack([X, np.asarray(T, dtype=np.float64)])
