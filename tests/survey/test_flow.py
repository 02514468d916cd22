"""API tests of the participant flow, idempotency and the export round trip."""

from __future__ import annotations

import pandas as pd
import pytest
from survey_helpers import (
    ADMIN,
    csrf_of,
    current_position,
    finish_session,
    session_csrf,
    start_session,
    to_ratings,
)

from emoconvey.data import load_dataset
from emoconvey.survey.export import export_study


def test_full_session_and_export(client, demo_study, tmp_path):
    token = start_session(client, pid="PROLIFIC123")
    to_ratings(client, token)
    n = finish_session(client, token, answer=lambda i: (i % 9 + 1, (i * 5) % 9 + 1))
    # 6 main clips + 1 repeat + 1 attention clip
    assert n == 8
    page = client.get(f"/s/{token}").text
    assert "DEMO-1234" in page
    r = client.post(f"/s/{token}/contact",
                    data={"csrf": session_csrf(client, token), "contact": "me@example.org"},
                    follow_redirects=False)
    assert r.status_code == 303
    paths = export_study(demo_study, tmp_path / "out")
    ds = load_dataset(paths["ratings"], paths["clips"], paths["intents"], min_ratings=1)
    assert len(ds.ratings) == 6
    assert ds.listeners == ["P1"]
    for p in paths.values():
        text = p.read_text()
        assert "me@example.org" not in text and "PROLIFIC123" not in text
    demo = pd.read_csv(paths["demographics"])
    assert demo.loc[0, "user"] == "P1" and bool(demo.loc[0, "completed"])


def test_sample_answer_is_never_stored(client, demo_study):
    token = start_session(client)
    to_ratings(client, token)
    from sqlalchemy import func, select

    from emoconvey.survey.db import Rating

    with demo_study.store.read() as s:
        assert s.scalar(select(func.count()).select_from(Rating)) == 0


def test_reload_continues_and_double_submit_is_idempotent(client, demo_study):
    token = start_session(client)
    csrf = to_ratings(client, token)
    finish_session(client, token, limit=3)
    pos = current_position(client, token)
    assert current_position(client, token) == pos  # reload shows the same clip
    data = {"csrf": csrf, "position": str(pos), "valence": "7", "arousal": "2"}
    r1 = client.post(f"/s/{token}/rate", data=data, follow_redirects=False)
    r2 = client.post(f"/s/{token}/rate", data=data, follow_redirects=False)
    assert r1.status_code == r2.status_code == 303
    r3 = client.post(f"/s/{token}/rate", data=data, headers={"accept": "application/json"})
    assert r3.json()["status"] == "duplicate"
    from sqlalchemy import func, select

    from emoconvey.survey.db import Rating

    with demo_study.store.read() as s:
        assert s.scalar(select(func.count()).select_from(Rating)) == 4
    assert current_position(client, token) != pos


def test_platform_id_returns_to_same_session(client):
    token = start_session(client, pid="ABC")
    r = client.get("/?PROLIFIC_PID=ABC", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith(token)
    csrf = csrf_of(client.get("/").text)
    r = client.post("/start", data={"csrf": csrf, "consent": "yes", "pid": "ABC"},
                    follow_redirects=False)
    assert r.headers["location"].endswith(token)


@pytest.mark.parametrize("age,fluency", [(17, "yes"), (30, None)])
def test_ineligible_participants_are_not_admitted(client, age, fluency):
    token = start_session(client)
    csrf = session_csrf(client, token)
    data = {"csrf": csrf, "gender": "Male", "age": str(age)}
    if fluency:
        data["fluency"] = fluency
    client.post(f"/s/{token}/demographics", data=data)
    page = client.get(f"/s/{token}").text
    assert "do not meet the requirements" in page
    r = client.post(f"/s/{token}/instructions", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert current_position(client, token) is None


def test_admin_page(client):
    token = start_session(client)
    to_ratings(client, token)
    finish_session(client, token, answer=lambda i: (5, 5))
    assert client.get("/admin").status_code == 401
    assert client.get("/admin?token=wrong").status_code == 403
    r = client.get("/admin", headers={"authorization": f"Bearer {ADMIN}"})
    assert r.status_code == 200 and "Ratings per clip" in r.text
    assert '<meta http-equiv="refresh" content="15">' in r.text  # live progress
    st = client.get(f"/admin/status.json?token={ADMIN}").json()
    assert st["started"] == 1 and st["finished"] == 1 and st["ratings"] == 6
    assert sum(n for _, n in st["histogram"]) == 72
