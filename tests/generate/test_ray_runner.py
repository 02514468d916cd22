"""A Ray run on a local 2-worker cluster gives the files and manifest of a local run."""

from __future__ import annotations

import pandas as pd
import pytest
from generate_helpers import folder_digest, manifest_without_wall

from emoconvey.generate.run import run_generation
from emoconvey.intents import aimoclips_intents

ray = pytest.importorskip("ray")

FOUR = aimoclips_intents().iloc[[0, 3, 6, 9]].reset_index(drop=True)
KW = {"backend": "cues", "system": "Cues", "intents": FOUR, "clips_per_intent": 2,
      "seconds": 3.0, "crop": 1.0, "seed": 11, "options": {"renderer": "numpy"}}


@pytest.fixture(scope="module")
def cluster():
    """One local 2-worker cluster for the module (starting one takes ~15 s)."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.mark.slow
def test_ray_equals_local(tmp_path, cluster):
    run_generation(out=tmp_path / "local", **KW)
    df = run_generation(out=tmp_path / "ray", ray=True, batch_size=3, **KW)
    assert len(df) == 8
    assert folder_digest(tmp_path / "ray") == folder_digest(tmp_path / "local")
    pd.testing.assert_frame_equal(manifest_without_wall(tmp_path / "ray"),
                                  manifest_without_wall(tmp_path / "local"))


@pytest.mark.slow
def test_ray_worker_load_error_is_one_line(tmp_path, cluster):
    from emoconvey.errors import EmoconveyError

    with pytest.raises(EmoconveyError, match="cues: soundfont '/nowhere.sf2' is not a file"):
        run_generation(out=tmp_path, ray=True, workers=1,
                       **{**KW, "options": {"renderer": "fluidsynth",
                                            "soundfont": "/nowhere.sf2"}})
