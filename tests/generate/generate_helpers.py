"""A tiny, deterministic test backend and folder-comparison helpers."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from emoconvey.generate.backends.base import Backend, GeneratedAudio, GenerationRequest

RATE = 8000


class OutOfMemoryError(RuntimeError):
    """Named like torch.cuda.OutOfMemoryError."""


class ToneBackend(Backend):
    """Seeded noise plus a prompt-dependent tone; options make it misbehave on purpose.

    Options: ``fail_on_call`` (raise on that generate call, 1-based: a simulated crash),
    ``oom`` (raise OutOfMemoryError), ``kind`` (``"silent"``, ``"clipped"``, ``"nan"``,
    ``"short"``: degenerate outputs), ``channels``, ``seconds_out`` (override the length),
    ``neighbours`` (the output depends on the other requests of the batch).
    """

    name = "tone"
    extra = "generate"
    default_checkpoint = "tone-0"
    native_sample_rate = RATE
    description = "test backend"
    loads = 0

    def load(self) -> None:
        type(self).loads += 1
        self.calls = 0

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GeneratedAudio]:
        self.calls += 1
        if self.options.get("fail_on_call") == self.calls:
            raise RuntimeError("simulated crash")
        if self.options.get("oom"):
            raise OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        out = []
        for req in requests:
            seconds = self.options.get("seconds_out", req.seconds)
            n = round(seconds * RATE)
            rng = np.random.default_rng(req.seed)
            f = 200 + int(hashlib.sha256(req.prompt.encode()).hexdigest(), 16) % 400
            t = np.arange(n) / RATE
            ch = int(self.options.get("channels", 1))
            audio = np.stack([0.3 * np.sin(2 * np.pi * f * (c + 1) * t)
                              + 0.05 * rng.standard_normal(n) for c in range(ch)])
            kind = self.options.get("kind")
            if kind == "silent":
                audio *= 0.0
            elif kind == "clipped":
                audio = np.clip(audio * 10, -1, 1)
            elif kind == "nan":
                audio[:, 10] = np.nan
            if self.options.get("neighbours"):  # like batched sampling: depends on the batch
                audio += 1e-3 * (sum(r.seed for r in requests) % 7)
            out.append(GeneratedAudio(audio=audio.astype(np.float32), sample_rate=RATE,
                                      params={"f": f}, flags=[]))
        return out


def folder_digest(root: Path) -> dict[str, str]:
    """SHA-256 of every file under ``root`` except the manifest, by relative path."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*")) if p.is_file() and p.name != "manifest.csv"
    }


def manifest_without_wall(root: Path, drop: tuple[str, ...] = ("wall_seconds",)) -> pd.DataFrame:
    df = pd.read_csv(root / "manifest.csv", dtype=str, keep_default_na=False)
    return df.drop(columns=list(drop))


def run_kwargs(**overrides: Any) -> dict[str, Any]:
    kw: dict[str, Any] = {"backend": ToneBackend, "system": "Tone", "clips_per_intent": 2,
                          "seconds": 3.0, "crop": 1.0, "seed": 7, "device": "cpu",
                          "intents": "aimoclips"}
    kw.update(overrides)
    return kw
