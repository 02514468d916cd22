"""Quality-control flags and dropping flagged listeners from the export."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select
from survey_helpers import current_position, finish_session, start_session, to_ratings

from emoconvey.data import load_dataset
from emoconvey.survey.config import StudyConfig
from emoconvey.survey.export import export_study
from emoconvey.survey.qc import flags_from_ratings
from emoconvey.survey.storage import Rating


def frame(rows):
    return pd.DataFrame(rows, columns=["participant_id", "clip_id", "role", "valence",
                                       "arousal", "created_at"])


def test_each_flag():
    cfg = StudyConfig.from_dict({"quality": {"repeat_tolerance": 2, "straightline_min": 5,
                                             "min_seconds": 3}})
    good = [(1, c, "main", 1 + c % 9, 9 - c % 9, 10.0 * c) for c in range(10)]
    good += [(1, 3, "repeat", 4, 6, 200.0), (1, 100, "attention", 2, 2, 210.0)]
    bad = [(2, c, "main", 5, 5, 1.0 * c) for c in range(10)]  # same answer, 1 s apart
    bad += [(2, 3, "repeat", 9, 1, 11.0), (2, 100, "attention", 9, 9, 12.0)]
    flags = flags_from_ratings(frame(good + bad), cfg, {100: ((1, 9), (1, 4))})
    assert set(flags.loc[flags["participant_id"] == 2, "flag"]) == {
        "inconsistent_repeat", "attention", "straight_lining", "too_fast"}
    assert (flags["participant_id"] == 1).sum() == 0
    assert flags["detail"].str.len().min() > 10


def test_export_drops_flagged_listeners(client, demo_study, tmp_path):
    good = start_session(client)
    to_ratings(client, good)
    # answers vary, but by at most 2 (so the repeated clip is answered consistently
    # wherever it falls); attention clip (calm: arousal 1-5) answered plausibly
    finish_session(client, good, answer=lambda i: (4 + i % 3, 2 + i % 3))
    lazy = start_session(client)
    to_ratings(client, lazy)
    finish_session(client, lazy, answer=lambda i: (9, 9))  # fails the attention clip
    assert current_position(client, lazy) is None
    with demo_study.store.write() as s:  # the TestClient answers in ms: space them out
        for i, r in enumerate(s.scalars(select(Rating).order_by(Rating.id))):
            r.created_at = 1000.0 + 10 * i
    kept = export_study(demo_study, tmp_path / "all")
    flags = pd.read_csv(kept["flags"])
    assert "P2" in set(flags["user"]) and "attention" in set(flags["flag"])
    assert "P2" in kept["report"].read_text()
    dropped = export_study(demo_study, tmp_path / "clean", drop_flagged=True)
    ds = load_dataset(dropped["ratings"], dropped["clips"], dropped["intents"], min_ratings=1)
    assert ds.listeners == ["P1"]
    assert "dropped" in dropped["report"].read_text()
