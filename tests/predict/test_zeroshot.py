"""Zero-shot valence/arousal from a tiny random CLAP and a tiny norms file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from typer.testing import CliRunner

from emoconvey.cli import app
from emoconvey.errors import EmoconveyError
from emoconvey.intents import load_norms
from emoconvey.predict.extractors import get_extractor
from emoconvey.predict.synthetic import synthesize_clip
from emoconvey.predict.zeroshot import zero_shot_predict

runner = CliRunner()

# invented values for the test (not any published norms)
_NORMS = {"happy": (8.0, 6.0), "sad": (2.0, 3.0), "calm": (7.0, 2.0), "angry": (2.5, 7.5)}


@pytest.fixture(scope="module")
def clap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tests' tiny CLAP with its text weights redrawn (seeded), so that the words'
    descriptors get distinct embeddings (the shared tiny model gives them all one)."""
    import torch
    from tiny_clap import build_tiny_clap
    from transformers import ClapModel

    folder = build_tiny_clap(tmp_path_factory.mktemp("clap_zs"))
    model = ClapModel.from_pretrained(str(folder))
    torch.manual_seed(1)
    with torch.no_grad():
        for prm in model.text_model.parameters():
            if prm.dim() > 1:
                prm.normal_(0.0, 0.3)
    model.save_pretrained(str(folder), safe_serialization=True)
    return folder


@pytest.fixture(scope="module")
def norms_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("norms") / "norms.csv"
    path.write_text("Word,V.Mean.Sum,A.Mean.Sum\n" + "".join(
        f"{w},{v},{a}\n" for w, (v, a) in _NORMS.items()) + "table,5.1,3.3\n")
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    folder = tmp_path_factory.mktemp("zs") / "Sys"
    folder.mkdir()
    paths = []
    for k, (v, a) in enumerate(((8, 7), (2, 2), (5, 5))):
        p = folder / f"Sys_{k}.wav"
        sf.write(p, synthesize_clip(v, a, seed=k, duration=2.0), 22050)
        paths.append(str(p))
    return paths


def test_weighted_norms_match_a_direct_computation(
    clap: Path, norms_file: Path, clips: list[str], tmp_path: Path
) -> None:
    ext = get_extractor("clap", model=str(clap))
    norms = load_norms(norms_file)
    pred, settings = zero_shot_predict(ext, clips, norms, top_k=3, temperature=0.1,
                                       cache_dir=tmp_path)
    words = settings["words"]
    assert sorted(words) == sorted(_NORMS)  # "table" is no emotion word
    assert settings["method"] == "zero-shot clap" and settings["top_k"] == 3
    # independent computation from the raw embeddings
    A = ext.extract(clips).astype(np.float64)
    T = ext.embed_texts([f"{w} music" for w in words]).astype(np.float64)
    assert np.ptp(A @ T.T) > 0.01  # the words are told apart
    A = A / np.linalg.norm(A, axis=1, keepdims=True)
    T = T / np.linalg.norm(T, axis=1, keepdims=True)
    V = np.array([_NORMS[w][0] for w in words])
    Ar = np.array([_NORMS[w][1] for w in words])
    for i, sims in enumerate(A @ T.T):
        top = np.argsort(-sims, kind="stable")[:3]
        w = np.exp(sims[top] / 0.1) / np.exp(sims[top] / 0.1).sum()
        assert pred["valence"].iloc[i] == pytest.approx(w @ V[top], rel=1e-5)
        assert pred["arousal"].iloc[i] == pytest.approx(w @ Ar[top], rel=1e-5)
        assert pred["top_words"].iloc[i].startswith(words[top[0]])
    # top-1 (or a tiny temperature) gives the nearest word's norms exactly
    one, _ = zero_shot_predict(ext, clips, norms, top_k=1, cache_dir=tmp_path)
    nearest = np.argmax(A @ T.T, axis=1)
    np.testing.assert_allclose(one["valence"], V[nearest])
    wide, _ = zero_shot_predict(ext, clips, norms, top_k=4, temperature=1e6, cache_dir=tmp_path)
    np.testing.assert_allclose(wide["arousal"], Ar.mean(), rtol=1e-4)
    with pytest.raises(EmoconveyError, match="--top-k: expected at least 1"):
        zero_shot_predict(ext, clips, norms, top_k=0)
    with pytest.raises(EmoconveyError, match="--temperature"):
        zero_shot_predict(ext, clips, norms, temperature=0)
    with pytest.raises(EmoconveyError, match="none of the emotion words"):
        zero_shot_predict(ext, clips, norms, words=["chair"])


def test_cli_and_report_mark_zero_shot(
    clap: Path, norms_file: Path, clips: list[str], tmp_path: Path
) -> None:
    folder = str(Path(clips[0]).parent.parent)
    out = tmp_path / "zs.csv"
    res = runner.invoke(app, ["predict", "run", "--zero-shot", "clap", "--norms",
                              str(norms_file), "--clap-model", str(clap), "--audio", folder,
                              "--out", str(out), "--cache-dir", str(tmp_path / "c")])
    assert res.exit_code == 0, res.output
    assert "ZERO-SHOT" in res.output and "accuracy unknown" in res.output
    table = pd.read_csv(out)
    assert list(table.columns) == ["audio_file", "system", "intent", "valence", "arousal",
                                   "top_words", "method", "model"]
    assert set(table["method"]) == {"zero-shot clap"}
    assert table["model"].iloc[0].startswith("zero-shot clap (model ")
    assert table["valence"].between(2.0, 8.0).all()
    for args, message in (
        (["--zero-shot", "clap"], "needs --norms FILE"),
        (["--zero-shot", "bert", "--norms", str(norms_file)], "--zero-shot: expected clap"),
        ([], "give either --model"),
    ):
        bad = runner.invoke(app, ["predict", "run", "--audio", folder, "--out",
                                  str(tmp_path / "x.csv"), *args])
        assert bad.exit_code == 2 and message in bad.output, bad.output
    # the report marks zero-shot predictions (intents added for the analysis)
    intents = ["happy", "sad", "calm"]
    table.assign(intent=intents).to_csv(tmp_path / "zs2.csv", index=False)
    rep = runner.invoke(app, ["report", "--predicted", str(tmp_path / "zs2.csv"),
                              "--no-figures", "--out", str(tmp_path / "r")])
    assert rep.exit_code == 0, rep.output
    page = (tmp_path / "r" / "index.html").read_text()
    assert "ZERO-SHOT predictions" in page and "<b>ZERO-SHOT</b>" in page
    doc = json.loads((tmp_path / "r" / "results.json").read_text())
    assert doc["model"]["zero_shot"] is True
