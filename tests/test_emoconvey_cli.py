"""The command line, through Typer's test runner."""

from __future__ import annotations

import importlib
import json

from typer.testing import CliRunner

from emoconvey import __version__
from emoconvey.cli import app
from synthetic import synthetic_ratings

runner = CliRunner()


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output


def test_report_default_is_bundled_aimoclips(tmp_path):
    result = runner.invoke(app, ["report", "--out", str(tmp_path / "r"), "--no-figures"])
    assert result.exit_code == 0, result.output
    assert "Report written" in result.output
    doc = json.loads((tmp_path / "r" / "results.json").read_text())
    assert doc["dataset"]["clips"] == 991


def test_report_own_data_with_reference(tmp_path):
    ratings = tmp_path / "ratings.csv"
    synthetic_ratings(systems=("MyTTM",)).to_csv(ratings, index=False)
    result = runner.invoke(
        app,
        ["report", "--ratings", str(ratings), "--with-reference", "--no-figures",
         "--out", str(tmp_path / "r")],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "r" / "results.json").read_text())
    assert doc["dataset"]["systems"][0] == "MyTTM"
    assert doc["dataset"]["n_systems"] == 7
    assert "MyTTM" in {r["system"] for r in doc["ranking"]}


def test_report_bad_input_is_one_clear_line(tmp_path):
    ratings = tmp_path / "ratings.csv"
    ratings.write_text("user,audio_file,valence,arousal\nP1,Suno_sad_1.wav,12,3\n")
    result = runner.invoke(app, ["report", "--ratings", str(ratings), "--out",
                                 str(tmp_path / "r")])
    assert result.exit_code == 2
    assert "error:" in result.output
    assert "line 2" in result.output and "'valence'" in result.output
    assert "Traceback" not in result.output


def test_report_option_errors(tmp_path):
    result = runner.invoke(app, ["report", "--with-reference"])
    assert result.exit_code == 2 and "--with-reference" in result.output
    result = runner.invoke(app, ["report", "--clips", str(tmp_path / "c.csv")])
    assert result.exit_code == 2 and "--ratings" in result.output


def test_validate(tmp_path):
    ratings = tmp_path / "ratings.csv"
    text = "user,audio_file,valence,arousal\n" + "".join(
        f"P{p},Sys_calm_1.wav,7,2\n" for p in range(1, 4)
    ) + "".join(f"P{p},Sys_sad_1.wav,2,2\n" for p in range(1, 6))
    ratings.write_text(text)
    result = runner.invoke(app, ["validate", "--ratings", str(ratings)])
    assert result.exit_code == 0, result.output
    assert "1 clips" in result.output and "1 clip(s) excluded" in result.output
    assert "Sys_calm_1.wav (3 ratings)" in result.output


def test_intents_list():
    result = runner.invoke(app, ["intents", "list"])
    assert result.exit_code == 0 and "tranquil" in result.output and "6.89" in result.output


def test_intents_select_and_from_words(tmp_path, warriner_path):
    out = tmp_path / "intents.csv"
    result = runner.invoke(
        app,
        ["intents", "select", "--norms", str(warriner_path), "happy", "joyful", "excited",
         "sad", "calm", "angry", "--per-quadrant", "1", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert "neutral_arousal" in result.output and "quadrant_full" in result.output
    assert out.read_text().splitlines() == [
        "quadrant,emotion,gt_valence,gt_arousal",
        "hv_ha,happy,8.47,6.05",
        "lv_ha,angry,2.53,6.2",
        "lv_la,sad,2.1,3.49",
        "hv_la,calm,6.89,1.67",
    ]
    out2 = tmp_path / "mine.csv"
    result = runner.invoke(app, ["intents", "from-words", "--norms", str(warriner_path),
                                 "furious", "--out", str(out2)])
    assert result.exit_code == 0, result.output
    assert "lv_ha,furious,2.57,6.09" in out2.read_text()
    result = runner.invoke(app, ["intents", "from-words", "--norms", str(warriner_path),
                                 "qwertyuiop"])
    assert result.exit_code == 2 and "qwertyuiop" in result.output


def test_plan_json_small_design(tmp_path):
    import json

    result = runner.invoke(app, [
        "plan", "--systems", "2", "--intents", "2", "--clips-per-pair", "2",
        "--clips-per-participant", "4", "--effect", "1.5", "--sims", "16", "--workers", "1",
        "--json", "--figure", str(tmp_path / "power.png"),
    ])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert {"participants", "ratings_per_clip", "power_curve"} <= set(doc)
    assert all({"participants", "power"} <= set(r) for r in doc["power_curve"])
    # the plan names the analysis it planned for: the report's default
    assert "posthoc='adjusted'" in doc["analysis"] and doc["design"]["posthoc"] == "adjusted"
    assert (tmp_path / "power.png").stat().st_size > 0


def test_plan_bad_option_is_one_line():
    result = runner.invoke(app, ["plan", "--systems", "1", "--intents", "2"])
    assert result.exit_code == 2
    assert "systems" in result.output


def test_report_posthoc_option_error(tmp_path):
    result = runner.invoke(app, ["report", "--out", str(tmp_path / "r"), "--no-figures",
                                 "--posthoc", "twoway"])
    assert result.exit_code == 2
    assert "posthoc" in result.output


def test_every_command_group_is_mounted():
    from emoconvey.cli import LAZY_COMMANDS

    result = runner.invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for name in ("report", "validate", "plan", "intents", "survey", "generate", "predict"):
        assert name in result.output
    for spec in LAZY_COMMANDS.values():  # each listed with its help, without importing it
        assert spec.help in result.output


def test_starting_the_cli_imports_no_heavy_module():
    """``import emoconvey.cli`` and ``emoconvey --help`` load no scipy, torch, sklearn, pandas."""
    import subprocess
    import sys

    heavy = ("scipy", "torch", "sklearn", "pandas", "matplotlib")
    code = (
        "import sys\n"
        "import emoconvey.cli\n"
        f"print(*('{{}}'.format(m in sys.modules) for m in {heavy!r}))\n"
        "try:\n"
        "    emoconvey.cli.app(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(*('{{}}'.format(m in sys.modules) for m in {heavy!r}), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=120)
    assert done.stdout.splitlines()[0] == " ".join(["False"] * len(heavy))
    assert done.stderr.splitlines()[-1] == " ".join(["False"] * len(heavy))
    assert "predict" in done.stdout and "survey" in done.stdout


def test_a_mistyped_command_gets_a_suggestion_among_lazy_groups():
    result = runner.invoke(app, ["generat"])
    assert result.exit_code == 2
    assert "Did you mean 'generate'?" in result.output


def test_a_group_whose_extra_is_missing_says_what_to_install(monkeypatch):
    import sys
    import types

    from emoconvey import cli

    broken = types.ModuleType("fake_group_cli")
    monkeypatch.setitem(sys.modules, "fake_group_cli", broken)
    original = importlib.import_module

    def failing_import(name, *args, **kwargs):
        if name == "fake_group_cli":
            raise ModuleNotFoundError("No module named 'heavy_lib'", name="heavy_lib")
        return original(name, *args, **kwargs)

    monkeypatch.setattr(importlib, "import_module", failing_import)
    monkeypatch.setitem(cli.LAZY_COMMANDS, "fake-group",
                        cli.LazyCommand("fake_group_cli", "A fake group.", "fake"))
    result = runner.invoke(app, ["--help"])
    assert "fake-group" in result.output and "A fake group." in result.output
    result = runner.invoke(app, ["fake-group", "anything", "--at-all"])
    assert result.exit_code == 2
    assert "emoconvey fake-group needs heavy_lib" in result.output
    assert "pip install 'emoconvey[fake]'" in result.output
    assert result.output.strip().count("\n") == 0

    def bug(name, *args, **kwargs):
        raise ModuleNotFoundError("No module named 'emoconvey.nope'", name="emoconvey.nope")

    monkeypatch.setattr(importlib, "import_module", bug)
    result = runner.invoke(app, ["fake-group", "anything"])
    # a bug of ours is not reported as a missing extra
    assert isinstance(result.exception, ModuleNotFoundError)


def test_a_missing_package_inside_a_command_names_the_extra(monkeypatch):
    """An extra's package imported only inside a command gives the same one line."""
    from emoconvey.generate import cli as generate_cli

    def needs_missing(*args, **kwargs):
        raise ModuleNotFoundError("No module named 'heavy_lib'", name="heavy_lib")

    monkeypatch.setattr(generate_cli, "check_output_folder", needs_missing)
    result = runner.invoke(app, ["generate", "run", "--backend", "cues", "--system", "S",
                                 "--out", "o"])
    assert result.exit_code == 2
    assert result.output.strip() == (
        "error: emoconvey generate needs heavy_lib; install it with pip install "
        "'emoconvey[generate]'"
    )


def test_error_messages_keep_their_brackets(tmp_path):
    """An error that names an extra (``emoconvey[generate]``) reaches the user intact."""
    result = runner.invoke(app, ["generate", "run", "--backend", "mustango", "--system", "M",
                                 "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    if "needs mustango" in result.output:  # the usual case: Mustango is not installed
        assert "emoconvey[generate]" in result.output
