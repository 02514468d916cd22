"""One out-of-memory error for every runner and backend."""

from __future__ import annotations

import pytest

from emoconvey.errors import EmoconveyError
from emoconvey.generate.backends import _torch
from emoconvey.generate.oom import GenerationOOMError, is_oom


class OutOfMemoryError(RuntimeError):
    """Named like torch's."""


def test_is_oom_by_name_or_message():
    assert is_oom(OutOfMemoryError("x"))
    assert is_oom(RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    assert not is_oom(RuntimeError("shape mismatch"))


def test_message_names_the_next_batch_size():
    e = GenerationOOMError(batch_size=4, device="cuda:0", backend="musicgen", seconds=30.0,
                           detail="CUDA out of memory.\nmore")
    assert isinstance(e, EmoconveyError) and e.suggested_batch_size == 2
    assert str(e) == ("musicgen: out of memory on cuda:0 while generating a batch of 4 "
                      "clip(s) of 30 s; try --batch-size 2 (CUDA out of memory.)")
    one = GenerationOOMError(batch_size=1, device="cuda", backend="tone")
    assert one.suggested_batch_size is None
    assert str(one).startswith("tone: out of memory on cuda while generating a batch of 1 "
                               "clip(s); the batch was already one clip: use a smaller")


def test_torch_helpers_raise_the_same_class():
    assert _torch.GenerationOOMError is GenerationOOMError


def test_torch_backend_owns_the_start_of_load(tmp_path):
    seen = {}

    class Probe(_torch.TorchBackend):
        name = "probe"
        requires = ("torch",)
        allowed_options = frozenset({"dtype"})

        def generate(self, requests):  # pragma: no cover - not called
            return []

        def _load(self, resolved):
            seen.update(source=resolved.source, device=str(self._device),
                        dtype=str(self._dtype))

    Probe(str(tmp_path), device="cpu", dtype="float32").load()
    assert seen == {"source": str(tmp_path), "device": "cpu", "dtype": "torch.float32"}
    with pytest.raises(EmoconveyError, match=r"backend 'probe': unknown option\(s\) steps; "
                       "expected dtype"):
        Probe(str(tmp_path), steps=3)
    with pytest.raises(EmoconveyError, match="checkpoint folder '/nowhere/x' does not exist"):
        Probe("/nowhere/x").load()
