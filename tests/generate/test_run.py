from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from generate_helpers import RATE, ToneBackend, folder_digest, manifest_without_wall, run_kwargs

from emoconvey.errors import EmoconveyError
from emoconvey.generate.output import MANIFEST_COLUMNS
from emoconvey.generate.protocol import derive_seed
from emoconvey.generate.run import resolve_device, run_generation
from emoconvey.intents import aimoclips_intents

TWO = aimoclips_intents().iloc[[0, 6]].reset_index(drop=True)  # two quadrants


def test_layout_manifest_and_crop(tmp_path):
    df = run_generation(out=tmp_path, **run_kwargs(intents=TWO))
    assert list(df.columns) == list(MANIFEST_COLUMNS)
    assert len(df) == 4
    assert list(pd.read_csv(tmp_path / "manifest.csv").columns) == list(MANIFEST_COLUMNS)
    for row in df.itertuples():
        crop, rate = sf.read(tmp_path / row.file, always_2d=True)
        full, _ = sf.read(tmp_path / row.full_file, always_2d=True)
        assert row.file == f"music_clips/Tone/Tone_{row.intent}_{row.index}.wav"
        assert rate == RATE == row.sample_rate and crop.shape == (RATE, 1)
        assert full.shape == (3 * RATE, 1) and row.full_seconds == 3.0
        start = round(row.crop_start * RATE)
        np.testing.assert_array_equal(crop, full[start : start + RATE])
        assert row.crop_start >= 0.15 * 3 and row.crop_end <= 0.85 * 3
        assert row.seed == derive_seed(7, "Tone", row.intent, row.index)
        assert row.crop_seed == derive_seed(7, "Tone", row.intent, row.index, purpose="crop")
        assert row.prompt == f"{row.intent}, instrumental" and not row.instrumental
        assert json.loads(row.params)["f"] >= 200 and row.checkpoint == "tone-0"
        assert row.flags == ""
    assert ToneBackend.loads >= 1


def test_same_arguments_give_identical_files(tmp_path):
    run_generation(out=tmp_path / "a", **run_kwargs(intents=TWO))
    run_generation(out=tmp_path / "b", **run_kwargs(intents=TWO))
    assert folder_digest(tmp_path / "a") == folder_digest(tmp_path / "b")
    pd.testing.assert_frame_equal(manifest_without_wall(tmp_path / "a"),
                                  manifest_without_wall(tmp_path / "b"))
    run_generation(out=tmp_path / "c", **run_kwargs(intents=TWO, seed=8))
    assert folder_digest(tmp_path / "a") != folder_digest(tmp_path / "c")


def test_batching_gives_the_same_clips_with_one_load_per_run(tmp_path):
    before = ToneBackend.loads
    run_generation(out=tmp_path / "a", **run_kwargs(intents=TWO, batch_size=3))
    assert ToneBackend.loads == before + 1
    run_generation(out=tmp_path / "b", **run_kwargs(intents=TWO))
    assert folder_digest(tmp_path / "a") == folder_digest(tmp_path / "b")


def test_crash_then_resume_equals_uninterrupted(tmp_path):
    ref = tmp_path / "ref"
    run_generation(out=ref, **run_kwargs(intents=TWO))
    out = tmp_path / "out"
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_generation(out=out, **run_kwargs(intents=TWO, options={"fail_on_call": 3}))
    assert len(pd.read_csv(out / "manifest.csv")) == 2
    # what a kill -9 mid-write leaves: a temp file and a finished-looking file of a clip
    # the manifest does not have yet, and a manifest line cut short
    crops = out / "music_clips" / "Tone"
    (crops / ".Tone_relaxed_1.4242.tmp.wav").write_bytes(b"RIFF partial")
    (crops / ".Tone_relaxed_1.wav.tmp").write_bytes(b"RIFF partial")  # an older run's name
    victim = sorted(set(folder_digest(ref)) - set(folder_digest(out)))[0]
    (out / victim).parent.mkdir(parents=True, exist_ok=True)
    (out / victim).write_bytes(b"RIFF half")
    with open(out / "manifest.csv", "a") as fh:
        fh.write("Tone,tone,tone-0,,relaxed,2,relax")
    df = run_generation(out=out, **run_kwargs(intents=TWO))
    assert len(df) == 4
    assert folder_digest(out) == folder_digest(ref)
    # params differ only by the crash-inducing option of the first run's rows
    pd.testing.assert_frame_equal(manifest_without_wall(out).drop(columns="params"),
                                  manifest_without_wall(ref).drop(columns="params"))


def test_resume_skips_matching_and_redoes_tampered(tmp_path, caplog):
    run_generation(out=tmp_path, **run_kwargs(intents=TWO))
    before = ToneBackend.loads
    run_generation(out=tmp_path, **run_kwargs(intents=TWO))
    assert ToneBackend.loads == before  # nothing to do: the model is not even loaded
    good = folder_digest(tmp_path)
    target = tmp_path / "full" / "Tone" / f"Tone_{TWO.intent[0]}_1.wav"
    target.write_bytes(b"tampered")
    run_generation(out=tmp_path, **run_kwargs(intents=TWO))
    assert "redoing 1 clip(s)" in caplog.text
    assert folder_digest(tmp_path) == good


def test_systems_share_one_output_folder(tmp_path):
    run_generation(out=tmp_path, **run_kwargs(intents=TWO))
    run_generation(out=tmp_path, **run_kwargs(intents=TWO, system="Tone2"))
    m = pd.read_csv(tmp_path / "manifest.csv")
    assert sorted(m["system"].unique()) == ["Tone", "Tone2"] and len(m) == 8


@pytest.mark.parametrize(("kind", "flag"), [("silent", "near_silent"), ("clipped", "clipped"),
                                            ("nan", "nan")])
def test_degenerate_output_is_flagged(tmp_path, kind, flag, caplog):
    df = run_generation(out=tmp_path, **run_kwargs(intents=TWO.iloc[:1], clips_per_intent=1,
                                                    options={"kind": kind}))
    assert df["flags"].tolist() == [flag]
    assert f"flagged clips: {flag} 1" in caplog.text
    audio, _ = sf.read(tmp_path / df["full_file"][0])
    assert np.isfinite(audio).all()


def test_shorter_than_asked_is_flagged_and_too_short_is_an_error(tmp_path):
    df = run_generation(out=tmp_path, **run_kwargs(intents=TWO.iloc[:1], clips_per_intent=1,
                                                   options={"seconds_out": 2.5}))
    assert df["flags"].tolist() == ["shorter_than_asked"]
    with pytest.raises(EmoconveyError, match=r"full/Tone/Tone_\w+_1\.wav: 1\.00 s is too short "
                       r"for a 1 s crop between the 15 % and 85 % marks"):
        run_generation(out=tmp_path / "b", **run_kwargs(intents=TWO.iloc[:1], clips_per_intent=1,
                                                        options={"seconds_out": 1.0}))
    assert not list((tmp_path / "b").rglob("*.wav"))


def test_stereo_is_kept(tmp_path):
    df = run_generation(out=tmp_path, **run_kwargs(intents=TWO.iloc[:1], clips_per_intent=1,
                                                   options={"channels": 2}))
    audio, _ = sf.read(tmp_path / df["file"][0], always_2d=True)
    assert audio.shape == (RATE, 2) and df["channels"][0] == 2


def test_cuda_oom_names_a_smaller_batch(tmp_path):
    with pytest.raises(EmoconveyError, match=r"tone: out of memory on cpu while generating a "
                       r"batch of 4 clip\(s\) of 3 s; try --batch-size 2"):
        run_generation(out=tmp_path, **run_kwargs(batch_size=4, options={"oom": True}))
    with pytest.raises(EmoconveyError, match="the batch was already one clip"):
        run_generation(out=tmp_path, **run_kwargs(options={"oom": True}))


@pytest.mark.parametrize(("kw", "message"), [
    ({"system": "my/system"}, "--system: 'my/system' is not a valid folder name"),
    ({"crop": 2.5}, r"--crop: 2.5 s is longer than the 15-85 % window of a 3 s clip"),
    ({"clips_per_intent": 0}, "--clips-per-intent: expected a positive integer, got 0"),
    ({"batch_size": -1}, "--batch-size: expected a positive integer, got -1"),
    ({"backend": "nope"}, "--backend: unknown backend 'nope'; known: "),
    ({"device": "tpu"}, "--device: expected auto, cpu, cuda, cuda:N or mps, got 'tpu'"),
    ({"intents": "missing.csv"}, "--intents: file 'missing.csv' does not exist"),
    ({"prompt_template": "music"}, r"--prompt-template: 'music' must contain \{word\}"),
])
def test_argument_errors(tmp_path, kw, message):
    with pytest.raises(EmoconveyError, match=message):
        run_generation(out=tmp_path, **run_kwargs(**kw))
    assert not (tmp_path / "music_clips").exists()


def test_intents_file_with_extra_columns(tmp_path):
    table = TWO.assign(note="extra column", other=1)
    path = tmp_path / "emotion_intents_metadata.csv"
    table.to_csv(path, index=False)
    df = run_generation(out=tmp_path / "o", **run_kwargs(intents=str(path), clips_per_intent=1))
    assert df["intent"].tolist() == TWO["intent"].tolist()
    bad = tmp_path / "bad.csv"
    TWO.drop(columns="norm_arousal").to_csv(bad, index=False)
    with pytest.raises(EmoconveyError, match="norm_arousal"):
        run_generation(out=tmp_path / "o2", **run_kwargs(intents=str(bad)))


def test_device_resolution():
    assert resolve_device("auto", ()) == "cpu"  # no torch needed
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto", ("torch",)) in ("cpu", "cuda", "mps")


def test_cues_backend_through_the_protocol(tmp_path):
    df = run_generation(backend="cues", system="Cues", out=tmp_path, intents=TWO,
                        clips_per_intent=1, seconds=4.0, crop=2.0, seed=1,
                        options={"renderer": "numpy"})
    params = [json.loads(p) for p in df["params"]]
    assert [p["valence"] for p in params] == TWO["norm_valence"].tolist()
    assert all(p["renderer"] == "numpy" for p in params) and "norms" not in params[0]
    assert (df["sample_rate"] == 22050).all()


def test_wav_writer_is_read_back_by_libsndfile():
    import io

    from emoconvey.generate.output import wav_bytes

    rng = np.random.default_rng(0)
    audio = np.clip(rng.normal(0, 0.5, (2, 1000)), -1.2, 1.2).astype(np.float32)
    ours, rate = sf.read(io.BytesIO(wav_bytes(audio, 22050)), dtype="int16", always_2d=True)
    assert rate == 22050 and ours.shape == (1000, 2)
    expected = np.rint(np.clip(audio, -1, 1) * np.float32(32767)).astype(np.int16).T
    np.testing.assert_array_equal(ours, expected)


class TenSecondTone(ToneBackend):
    """A model with a native length, like Mustango's 10 s (here 1.2 s)."""

    max_seconds = 1.2

    def generate(self, requests):
        out = super().generate(requests)
        for g in out:
            g.audio = g.audio[:, : int(1.2 * RATE)]
            g.flags.append("native_length_1.2s")
        return out


def test_native_length_too_short_for_the_crop(tmp_path):
    kw = run_kwargs(backend=TenSecondTone, intents=TWO.iloc[:1], clips_per_intent=1)
    with pytest.raises(EmoconveyError, match=r"--crop: tone makes at most 1.2 s per "
                       r"clip, too short for a 1 s crop between the 15 % and 85 % marks; use "
                       r"--crop 0.84 or less, or --whole-clip"):
        run_generation(out=tmp_path, **kw)
    df = run_generation(out=tmp_path, whole_clip=True, **kw)
    assert df["flags"].tolist() == ["shorter_than_asked;uncropped;native_length_1.2s"]
    assert (df["crop_start"] == 0).all() and (df["crop_end"] == 1.2).all()
    crop, _ = sf.read(tmp_path / df["file"][0])
    full, _ = sf.read(tmp_path / df["full_file"][0])
    np.testing.assert_array_equal(crop, full)


def test_resume_keeps_batch_neighbours(tmp_path):
    """A clip redone on resume is generated in the same batch as in an uninterrupted run."""
    opts = {"neighbours": True}
    ref = tmp_path / "ref"
    run_generation(out=ref, **run_kwargs(intents=TWO, batch_size=3, options=opts))
    out = tmp_path / "out"
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_generation(out=out, **run_kwargs(intents=TWO, batch_size=3,
                                             options={**opts, "fail_on_call": 2}))
    (out / "full" / "Tone" / f"Tone_{TWO.intent[0]}_2.wav").unlink()  # of the first batch
    run_generation(out=out, **run_kwargs(intents=TWO, batch_size=3, options=opts))
    assert folder_digest(out) == folder_digest(ref)
    other = tmp_path / "other"  # other neighbours give other bits: the test has teeth
    run_generation(out=other, **run_kwargs(intents=TWO, batch_size=2, options=opts))
    assert folder_digest(other) != folder_digest(ref)


@pytest.mark.parametrize("layout", ["release", "internal"])
def test_intents_file_in_either_layout_with_extra_columns(tmp_path, layout):
    """What ``intents select/from-words/from-text`` write (release columns, extra columns
    such as intervals, intents with spaces) drives a run; so does the internal table."""
    table = pd.DataFrame({
        "quadrant": ["lv_la", "hv_ha"], "intent": ["a melancholic piano ballad", "euphoric"],
        "norm_valence": [3.1, 7.8], "norm_arousal": [3.5, 6.9],
        "valence_low": [2.0, 7.2], "neighbours": ["ballad (6.33/3.60)", ""],
    })
    if layout == "release":
        table = table.rename(columns={"intent": "emotion", "norm_valence": "gt_valence",
                                      "norm_arousal": "gt_arousal"})
    path = tmp_path / "intents.csv"
    table.to_csv(path, index=False)
    manifest = run_generation(out=tmp_path / "out", **run_kwargs(intents=path, clips_per_intent=1))
    assert sorted(manifest["intent"]) == ["a melancholic piano ballad", "euphoric"]
    assert set(manifest["prompt"]) == {"a melancholic piano ballad, instrumental",
                                       "euphoric, instrumental"}
    for f in manifest["file"]:
        assert (tmp_path / "out" / f).is_file()


def test_intents_file_with_a_bad_value_names_the_release_column(tmp_path):
    path = tmp_path / "intents.csv"
    path.write_text("quadrant,emotion,gt_valence,gt_arousal\nhv_ha,euphoric,high,6.9\n")
    with pytest.raises(EmoconveyError, match=r"intents.csv, line 2, column 'gt_valence'"):
        run_generation(out=tmp_path / "out", **run_kwargs(intents=path))


def test_rerun_counts_made_and_skipped(tmp_path):
    first = run_generation(out=tmp_path, **run_kwargs(intents=TWO))
    assert (first.attrs["made"], first.attrs["skipped"]) == (4, 0)
    again = run_generation(out=tmp_path, **run_kwargs(intents=TWO))
    assert (again.attrs["made"], again.attrs["skipped"]) == (0, 4) and len(again) == 4


def test_failed_run_leaves_nothing_behind(tmp_path):
    out = tmp_path / "new" / "clips"
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_generation(out=out, **run_kwargs(intents=TWO, options={"fail_on_call": 1}))
    assert not (tmp_path / "new").exists()
    existing = tmp_path / "existing"
    (existing / "notes.txt").parent.mkdir()
    (existing / "notes.txt").write_text("mine")
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_generation(out=existing, **run_kwargs(intents=TWO, options={"fail_on_call": 1}))
    assert sorted(p.name for p in existing.iterdir()) == ["notes.txt"]
    with pytest.raises(EmoconveyError, match=r"--out: '.*notes\.txt' is a file; expected a "
                       "folder"):
        run_generation(out=existing / "notes.txt", **run_kwargs(intents=TWO))


def test_clipped_is_judged_on_the_crop(tmp_path):
    from emoconvey.generate.output import finish_clip

    audio = np.full((1, 10 * RATE), 0.5, dtype=np.float32)
    audio[0, :7] = 1.0  # full scale in the first 15 %, outside any crop
    fields = finish_clip(tmp_path, system="S", intent="happy", index=1, audio=audio,
                         sample_rate=RATE, crop=2.0, crop_seed=1, requested_seconds=10.0)
    assert "clipped" not in fields["flags"].split(";")
    audio[0, 5 * RATE] = 1.0  # the middle is inside every crop of the 15-85 % window
    fields = finish_clip(tmp_path, system="S", intent="happy", index=2, audio=audio,
                         sample_rate=RATE, crop=7.0, crop_seed=1, requested_seconds=10.0)
    assert fields["flags"].split(";") == ["clipped"]
