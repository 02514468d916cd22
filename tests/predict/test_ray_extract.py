"""Feature extraction on a local Ray (``--ray``): the same features as a local run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from emoconvey.cli import app
from emoconvey.errors import EmoconveyError
from emoconvey.predict.extractors import get_extractor

ray = pytest.importorskip("ray")
runner = CliRunner()


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.mark.slow
def test_ray_features_and_predictions_equal_a_local_run(
    local_ray: None, synthetic_folder: Path, feature_cache: Path, tmp_path: Path
) -> None:
    from emoconvey.predict.ray_extract import RayExtractor

    files = sorted(str(p) for p in synthetic_folder.glob("Sys0[12]/*.wav"))[:7]
    local = get_extractor("handcrafted", workers=1)
    remote = RayExtractor(local, workers=2, batch_size=3)
    assert remote.cache_key == local.cache_key and remote.version == local.version
    seen: list[int] = []
    np.testing.assert_array_equal(remote.extract(files, progress=seen.append),
                                  local.extract(files))
    assert sum(seen) == 7 and len(seen) == 3
    # end to end: train locally, predict with --ray into an empty cache
    model = tmp_path / "m"
    res = runner.invoke(app, ["predict", "train", "--table", str(synthetic_folder / "ratings.csv"),
                              "--out", str(model), "--cache-dir", str(feature_cache),
                              "--n-boot", "0"])
    assert res.exit_code == 0, res.output
    outs = {}
    for name, extra in (("local", []), ("ray", ["--ray"])):
        outs[name] = tmp_path / f"{name}.csv"
        res = runner.invoke(app, ["predict", "run", "--model", str(model), "--audio",
                                  str(synthetic_folder / "Sys03"), "--out", str(outs[name]),
                                  "--cache-dir", str(tmp_path / f"cache_{name}"), "--system",
                                  "Sys03", *extra])
        assert res.exit_code == 0, res.output
    pd.testing.assert_frame_equal(pd.read_csv(outs["local"]), pd.read_csv(outs["ray"]))
    # the Ray run filled the cache like a local run
    assert len(list((tmp_path / "cache_ray").rglob("*.npy"))) == 10


def test_ray_option_errors(tmp_path: Path) -> None:
    from emoconvey.predict.ray_extract import RayExtractor

    with pytest.raises(EmoconveyError, match="batch_size: expected a positive integer"):
        RayExtractor(get_extractor("handcrafted"), batch_size=0)
    res = runner.invoke(app, ["predict", "run", "--model", "m", "--audio", ".", "--out",
                              str(tmp_path / "p.csv"), "--ray-address", "auto"])
    assert res.exit_code == 2 and "--ray-address needs --ray" in res.output
    res = runner.invoke(app, ["predict", "train", "--table", "t.csv", "--out",
                              str(tmp_path / "m"), "--ray-address", "auto"])
    assert res.exit_code == 2 and "--ray-address needs --ray" in res.output
    res = runner.invoke(app, ["predict", "run", "--zero-shot", "clap", "--norms", "n.csv",
                              "--audio", ".", "--out", str(tmp_path / "p.csv"), "--ray"])
    assert res.exit_code == 2 and "--ray: not available with --zero-shot" in res.output
