"""Out-of-memory while generating: one error, one message, one detector.

Backends that use torch turn ``torch.OutOfMemoryError`` into :class:`GenerationOOMError`
themselves (:func:`emoconvey.generate.backends._torch.oom_guard`); the runners (local and
Ray) turn any other exception that :func:`is_oom` recognises into the same error.
"""

from __future__ import annotations

from emoconvey.errors import EmoconveyError

__all__ = ["GenerationOOMError", "is_oom"]


def is_oom(exc: BaseException) -> bool:
    """Whether ``exc`` is an out-of-memory error of some library (by name or message)."""
    return type(exc).__name__ == "OutOfMemoryError" or "out of memory" in str(exc).lower()


class GenerationOOMError(EmoconveyError):
    """The accelerator ran out of memory while generating a batch.

    Parameters
    ----------
    batch_size : int
        How many clips the failing call generated at once.
    device : str
        The device that ran out of memory.
    backend : str
        The backend's name.
    seconds : float, optional
        Length of each clip asked for.
    detail : str
        The library's message (its first line is appended).

    Attributes
    ----------
    suggested_batch_size : int or None
        Half of ``batch_size`` (at least 1), or ``None`` when the batch was one clip.
    """

    def __init__(self, *, batch_size: int, device: str, backend: str,
                 seconds: float | None = None, detail: str = "") -> None:
        self.batch_size = batch_size
        self.device = device
        self.backend = backend
        self.suggested_batch_size = max(1, batch_size // 2) if batch_size > 1 else None
        if self.suggested_batch_size is not None:
            hint = f"try --batch-size {self.suggested_batch_size}"
        else:
            hint = ("the batch was already one clip: use a smaller checkpoint, fp16 "
                    "(--option dtype=float16), fewer --seconds, or a device with more memory")
        clips = f"{batch_size} clip(s)" + (f" of {seconds:g} s" if seconds else "")
        msg = f"{backend}: out of memory on {device} while generating a batch of {clips}; {hint}"
        if detail:
            msg += f" ({detail.splitlines()[0][:200]})"
        super().__init__(msg)
