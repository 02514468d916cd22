"""Every model backend through the whole protocol, on tiny checkpoints (CPU).

Runs ``emoconvey.generate.run.run_generation``: real loading code, native rate and
channels kept, flags in the manifest, and a rerun after a crash in the middle of a batch
gives the same files.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("torch")
pytest.importorskip("diffusers")

from backend_testing import one_torch_thread  # noqa: F401 - autouse fixture

from emoconvey.generate.run import run_generation
from emoconvey.generate.tiny import TINY_OPTIONS, TINY_SAMPLE_RATES, build_tiny_checkpoint

INTENTS = pd.DataFrame(
    {
        "intent": ["happy", "sad"],
        "quadrant": ["hv_ha", "lv_la"],
        "norm_valence": [8.5, 2.1],
        "norm_arousal": [6.0, 3.5],
    }
)
# (seconds, crop, channels, flags every clip carries)
CASES = {
    "musicgen": (0.4, 0.2, 1, ""),
    "transformers": (0.4, 0.2, 1, ""),
    "audioldm2": (0.5, 0.25, 1, ""),
    "diffusers": (0.5, 0.25, 1, ""),
    "stable-audio": (4.0, 2.0, 2, "trimmed_padding"),
}


def _digest(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*.wav"))
    }


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("tiny-protocol")
    return {name: build_tiny_checkpoint(name, root / name) for name in CASES}


@pytest.mark.filterwarnings("ignore:Should have:UserWarning")
@pytest.mark.parametrize("backend", sorted(CASES))
def test_backend_through_the_protocol(backend: str, checkpoints, tmp_path) -> None:
    seconds, crop, channels, flag = CASES[backend]
    kwargs = {
        "backend": backend, "checkpoint": checkpoints[backend], "system": "Tiny",
        "intents": INTENTS, "clips_per_intent": 2, "seconds": seconds, "crop": crop,
        "seed": 3, "batch_size": 2, "device": "cpu", "options": TINY_OPTIONS[backend],
    }
    df = run_generation(out=tmp_path / "a", **kwargs)
    assert len(df) == 4
    rate = TINY_SAMPLE_RATES[backend]
    assert (df["sample_rate"].astype(int) == rate).all()
    assert (df["channels"].astype(int) == channels).all()
    assert (df["backend"] == backend).all()
    for _, row in df.iterrows():
        assert row["full_seconds"] == pytest.approx(seconds, abs=1 / rate)
        assert row["crop_end"] - row["crop_start"] == pytest.approx(crop, abs=1 / rate)
        flags = str(row["flags"]) if pd.notna(row["flags"]) else ""
        if flag:
            assert flag in flags.split(";")
        assert "shorter_than_asked" not in flags
        assert json.loads(row["params"])  # the backend's parameters reach the manifest
        assert (tmp_path / "a" / row["file"]).is_file()
        assert (tmp_path / "a" / row["full_file"]).is_file()
    # the same arguments in another folder give the same files
    run_generation(out=tmp_path / "b", **kwargs)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")


def test_crash_mid_batch_then_resume_gives_the_same_files(checkpoints, tmp_path, monkeypatch):
    """A crash after the first batch, and one of its clips lost: the resumed run makes
    the missing clips in other batches. With ``sequential=True`` the files must match an
    uninterrupted run bit for bit (batched calls would match only up to rounding)."""
    from emoconvey.generate.backends.musicgen import MusicGenBackend

    kwargs = {
        "backend": "musicgen", "checkpoint": checkpoints["musicgen"], "system": "Tiny",
        "intents": INTENTS, "clips_per_intent": 3, "seconds": 0.4, "crop": 0.2, "seed": 5,
        "batch_size": 3, "device": "cpu", "options": {"sequential": True},
    }
    ref = tmp_path / "ref"
    run_generation(out=ref, **kwargs)
    out = tmp_path / "out"
    original = MusicGenBackend.generate
    calls = {"n": 0}

    def crash_second_call(self, requests):
        # count the runner's batches only (sequential mode calls generate once per clip)
        calls["n"] += len(requests) > 1
        if calls["n"] == 2 and len(requests) > 1:
            raise RuntimeError("simulated crash")
        return original(self, requests)

    monkeypatch.setattr(MusicGenBackend, "generate", crash_second_call)
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_generation(out=out, **kwargs)
    monkeypatch.setattr(MusicGenBackend, "generate", original)
    done = pd.read_csv(out / "manifest.csv")
    assert len(done) == 3
    # drop one finished clip of the first batch, as a kill during its write would
    victim = done.iloc[1]
    (out / victim["file"]).unlink()
    (out / victim["full_file"]).unlink()
    run_generation(out=out, **kwargs)
    assert _digest(out) == _digest(ref)
