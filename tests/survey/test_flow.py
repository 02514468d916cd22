"""API tests of the participant flow, idempotency and the export round trip."""

from __future__ import annotations

import re

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

    from emoconvey.survey.storage import Rating

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

    from emoconvey.survey.storage import Rating

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


@pytest.mark.parametrize("age,fluency", [(17, "yes"), (30, "no")])
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


def test_fluency_is_an_explicit_required_choice_and_mistakes_can_be_corrected(client):
    token = start_session(client)
    html = client.get(f"/s/{token}").text
    radios = re.findall(r'<input type="radio" name="fluency" value="(yes|no)" required', html)
    assert radios == ["yes", "no"]
    csrf = session_csrf(client, token)
    client.post(f"/s/{token}/demographics",
                data={"csrf": csrf, "gender": "Male", "age": "30", "fluency": "no"})
    page = client.get(f"/s/{token}").text
    assert "do not meet the requirements" in page
    assert 'action="/s/' + token + '/demographics"' in page  # correction form
    # a corrected resubmission (and a return with the same link) continues the study
    r = client.post(f"/s/{token}/demographics",
                    data={"csrf": csrf, "gender": "Male", "age": "30", "fluency": "yes"},
                    follow_redirects=False)
    assert r.status_code == 303
    assert "A sample clip" in client.get(f"/s/{token}").text


@pytest.mark.parametrize("stage", ["demographics", "ineligible"])
def test_demographics_without_fluency_is_re_shown_filled_in(client, stage, caplog):
    token = start_session(client)
    csrf = session_csrf(client, token)
    if stage == "ineligible":
        client.post(f"/s/{token}/demographics",
                    data={"csrf": csrf, "gender": "Male", "age": "16", "fluency": "yes"})
        page = client.get(f"/s/{token}").text  # the correction form holds the answers
        assert '<option value="Male" selected>' in page and 'value="16"' in page
        assert re.search(r'value="yes" required checked', page)
    r = client.post(f"/s/{token}/demographics",
                    data={"csrf": csrf, "gender": "Non-binary", "age": "30"},
                    follow_redirects=False)
    assert r.status_code == 422 and "text/html" in r.headers["content-type"]
    assert "Please answer every question." in r.text and "fluency" in r.text
    assert '<option value="Non-binary" selected>' in r.text and 'value="30"' in r.text
    r = client.post(f"/s/{token}/demographics", headers={"accept": "application/json"},
                    data={"csrf": csrf, "gender": "Male", "age": "30"})
    assert r.status_code == 422 and r.json() == {"detail": "field 'fluency': expected yes or no"}
    if stage == "demographics":  # not taken as "no"
        assert "do not meet the requirements" not in client.get(f"/s/{token}").text
    with caplog.at_level("WARNING", logger="emoconvey.survey.routers.participant"):
        r = client.post(f"/s/{token}/demographics", follow_redirects=False,
                        data={"csrf": csrf, "gender": "Male", "age": "30", "fluency": "yes"})
    assert r.status_code == 303 and "A sample clip" in client.get(f"/s/{token}").text
    if stage == "ineligible":  # the first answers leave a trace
        assert "corrected their answers" in caplog.text and "age 16 -> 30" in caplog.text


def test_screenout_code_and_url_for_ineligible_participants(demo_study):
    from dataclasses import replace

    from fastapi.testclient import TestClient

    from emoconvey.survey.app import create_app

    demo_study.config = replace(demo_study.config, screenout_code="SCR-77",
                                screenout_url="https://platform.example/out?cc={code}")
    with TestClient(create_app(demo_study, admin_token=None)) as c:
        token = start_session(c)
        c.post(f"/s/{token}/demographics", data={"csrf": session_csrf(c, token),
                                                 "gender": "Male", "age": "15",
                                                 "fluency": "yes"})
        page = c.get(f"/s/{token}").text
    assert 'id="screenout-code">SCR-77<' in page
    assert 'href="https://platform.example/out?cc=SCR-77"' in page


def test_pages_have_distinct_titles_favicon_and_html_errors(client, demo_study):
    title = demo_study.config.title
    token = start_session(client)
    seen = []
    for step in range(3):
        html = client.get(f"/s/{token}").text
        t = re.search(r"<title>(.*?)</title>", html).group(1)
        assert t.count(title) == 1, t
        seen.append(t)
        if step == 0:
            to_ratings(client, token)
    assert len(set(seen)) == 2  # the demographics page and the first rating page
    assert re.search(r"<title>Clip 1 of 8 – ", client.get(f"/s/{token}").text)
    fav = client.get("/favicon.ico")
    assert fav.status_code == 200 and fav.headers["content-type"].startswith("image/svg+xml")
    assert 'rel="icon"' in client.get("/").text
    for method, url, status in (("get", "/nope", 404), ("get", "/s/" + "x" * 40, 404),
                                ("post", "/", 405), ("get", "/start", 405)):
        r = getattr(client, method)(url)
        assert r.status_code == status
        assert r.headers["content-type"].startswith("text/html")
        assert '<html lang="en">' in r.text and "{&#34;detail" not in r.text
        assert '{"detail"' not in r.text and "Not Found" not in r.text
        assert "Method Not Allowed" not in r.text
        assert demo_study.config.text(f"error_{status}") in r.text
    # JSON clients and the admin routes still get JSON
    r = client.get("/nope", headers={"accept": "application/json"})
    assert r.status_code == 404 and r.json()["detail"]
    assert client.get("/admin/nope").headers["content-type"].startswith("application/json")


def test_error_pages_speak_the_study_language(tmp_path, demo_files):
    from fastapi.testclient import TestClient

    from emoconvey.survey.app import create_app
    from emoconvey.survey.config import StudyConfig
    from emoconvey.survey.study import init_study, open_study

    clips, _ = demo_files
    cfg = StudyConfig.from_dict({"language": "ko", "clips_per_participant": 4,
                                 "texts": {"error_404": "페이지를 찾을 수 없습니다."}})
    init_study(tmp_path / "ko.db", clips, config=cfg)
    with TestClient(create_app(open_study(tmp_path / "ko.db"), admin_token=None)) as c:
        r = c.get("/does-not-exist")
    assert r.status_code == 404 and '<html lang="ko">' in r.text
    assert "페이지를 찾을 수 없습니다." in r.text


def test_optional_logo_and_header(demo_study):
    from dataclasses import replace

    from fastapi.testclient import TestClient

    from emoconvey.survey.app import create_app

    logo = demo_study.clips_root / "extras" / "logo.svg"
    logo.write_text('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 4 4"/>')
    plain = TestClient(create_app(demo_study, admin_token=None)).get("/").text
    assert "/logo" not in plain and "site-header" not in plain
    assert TestClient(create_app(demo_study, admin_token=None)).get("/logo").status_code == 404
    demo_study.config = replace(demo_study.config, logo="extras/logo.svg",
                                header="Institute of Music Studies")
    with TestClient(create_app(demo_study, admin_token=None)) as c:
        page = c.get("/").text
        assert '<img class="logo" src="/logo" alt=""' in page
        assert "Institute of Music Studies" in page
        r = c.get("/logo")
        assert r.status_code == 200 and r.headers["content-type"] == "image/svg+xml"
    for bad in ("../study.db", "music_clips/ToneGen/ToneGen_happy_1.wav"):
        demo_study.config = replace(demo_study.config, logo=bad)
        with TestClient(create_app(demo_study, admin_token=None)) as c:
            assert c.get("/logo").status_code == 404  # outside the folder / not an image
    logo.unlink()


def test_require_full_play_page_and_server_check(demo_study):
    from dataclasses import replace

    from fastapi.testclient import TestClient
    from sqlalchemy import func, select

    from emoconvey.survey.app import create_app
    from emoconvey.survey.storage import Rating

    demo_study.config = replace(demo_study.config, require_full_play=True)
    with TestClient(create_app(demo_study, admin_token=None, seed=2)) as c:
        token = start_session(c)
        csrf = to_ratings(c, token)
        html = c.get(f"/s/{token}").text
        assert 'data-require-play="1"' in html
        status = re.search(r'<p class="play-status" data-state="waiting"[^>]*>(.*?)</p>', html,
                           re.S).group(1)
        assert demo_study.config.text("play_hint") in status
        assert demo_study.config.text("played_through") in status  # shown by survey.js
        pos = current_position(c, token)
        r = c.post(f"/s/{token}/rate", data={"csrf": csrf, "position": str(pos),
                                             "valence": "5", "arousal": "5", "played": "0"})
        assert r.status_code == 422
        with demo_study.store.read() as s:
            assert s.scalar(select(func.count()).select_from(Rating)) == 0


def test_404_under_static_is_a_styled_page(client):
    r = client.get("/static/no-such-file.css", headers={"accept": "text/html"})
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert 'href="/static/survey.css' in r.text and "/static/static/" not in r.text


def test_error_pages_of_a_korean_study_are_korean(demo_study):
    from dataclasses import replace

    from fastapi.testclient import TestClient

    from emoconvey.survey.app import create_app
    from emoconvey.survey.config import StudyConfig

    ko = StudyConfig.from_dict({"language": "ko", "texts": {"error_title": "오류"}})
    assert ko.text("error_title") == "오류"  # the study's own texts come first
    demo_study.config = replace(demo_study.config, language="ko",
                                texts=StudyConfig.from_dict({"language": "ko-KR"}).texts)
    with TestClient(create_app(demo_study, admin_token=None)) as c:
        r = c.get("/s/" + "x" * 43)
    assert r.status_code == 404 and '<html lang="ko"' in r.text
    assert "상세 정보:" in r.text and "Details:" not in r.text
    assert "이 페이지는 존재하지 않습니다" in r.text
