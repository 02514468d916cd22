"""MOS pages at the level of the AImoclips pages: HTML error pages in the study's language,
favicon, Origin check, a level-one heading, step indicator, played-through status and
``require_full_play``, and the AImoclips-style admin page."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from test_mos_study import CONFIG, make_files

from emoconvey.survey.mos_app import create_mos_app
from emoconvey.survey.protocols.musiceval import (
    init_mos_study,
    invite_mos_raters,
    read_mos_config,
)

ADMIN = "admin-secret-0123456789"
KO = CONFIG + """\
language: ko
require_full_play: true
texts:
  error_detail: "상세 정보:"
  error_404: "페이지가 없습니다."
  error_405: "이렇게 사용할 수 없습니다."
  error_4xx: "답변을 저장할 수 없습니다."
  start_button: "시작"
  submit_button: "다음"
  steps: "안내|평가|완료"
  prompt_label: "텍스트:"
"""


def _study(tmp_path, config: str = CONFIG):
    files = make_files(tmp_path / "f")
    files["config"].write_text(config)
    study = init_mos_study(tmp_path / "mos.db", files["root"], manifest=files["manifest"],
                           prompts=files["prompts"], config=read_mos_config(files["config"]))
    links = invite_mos_raters(study, tmp_path / "inv.csv", n=1)
    token = links.read_text().splitlines()[1].rsplit("/", 1)[-1]
    return study, token


@pytest.fixture
def mos(tmp_path):
    study, token = _study(tmp_path)
    with TestClient(create_mos_app(study, admin_token=ADMIN)) as client:
        yield client, token
    study.engine.dispose()


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def _is_page(r, status: int) -> str:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert "default-src" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert re.search(r"<h1[ >]", r.text), r.text
    assert "/static/survey.css" in r.text and "/static/static/" not in r.text
    return r.text


def test_errors_are_html_pages_not_json(mos):
    client, token = mos
    assert "This page does not exist" in _is_page(client.get("/nope"), 404)
    assert "unknown link" in _is_page(client.get("/r/" + "x" * 40), 404)
    assert "cannot be used like that" in _is_page(client.get(f"/r/{token}/rate"), 405)
    _is_page(client.get(f"/r/{token}/audio/abc/0"), 422)
    _is_page(client.get("/static/nope.css"), 404)
    # JSON clients still get JSON
    r = client.get("/nope", headers={"accept": "application/json"})
    assert r.status_code == 404 and r.json() == {"detail": "Not Found"}


def test_index_favicon_and_head(mos):
    client, _ = mos
    html = _is_page(client.get("/"), 200)
    assert "by invitation" in html and "<p>This study" not in html[:20]
    assert client.head("/").status_code == 200
    r = client.get("/favicon.ico")
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg")


def test_foreign_origin_is_refused(mos):
    client, token = mos
    html = client.get(f"/r/{token}").text
    r = client.post(f"/r/{token}/start", data={"csrf": _csrf(html)},
                    headers={"origin": "https://evil.example"}, follow_redirects=False)
    assert r.status_code == 403 and "cross-origin" in r.text
    r = client.post(f"/r/{token}/start", data={"csrf": _csrf(html)},
                    headers={"origin": "http://testserver"}, follow_redirects=False)
    assert r.status_code == 303


def test_steps_heading_and_play_status(mos):
    client, token = mos
    html = _is_page(client.get(f"/r/{token}"), 200)
    assert 'aria-current="step"' in html and "Step 1 of 3: Instructions" in html
    client.post(f"/r/{token}/start", data={"csrf": _csrf(html)})
    html = _is_page(client.get(f"/r/{token}"), 200)
    assert "Step 2 of 3: Ratings" in html
    assert re.search(r'<h1 class="progress-text"[^>]*>Batch 1 · clip 1 of', html)
    assert 'class="play-status"' in html and "Not yet played to the end" in html
    assert 'class="missing" hidden' in html and "data-require-play" not in html


def test_language_texts_and_require_full_play(tmp_path):
    study, token = _study(tmp_path, KO)
    with TestClient(create_mos_app(study, admin_token=ADMIN)) as client:
        html = client.get(f"/r/{token}").text
        assert '<html lang="ko">' in html and "시작" in html and "안내" in html
        client.post(f"/r/{token}/start", data={"csrf": _csrf(html)})
        html = client.get(f"/r/{token}").text
        assert 'data-require-play="1"' in html and "텍스트:" in html and "다음" in html
        batch = re.search(r'name="batch" value="([0-9]+)"', html).group(1)
        form = {"csrf": _csrf(html), "batch": batch, "position": "0", "MI": "3", "TA": "3"}
        page = _is_page(client.post(f"/r/{token}/rate", data=form | {"played": "0"}), 422)
        assert "상세 정보:" in page and "played to the end" in page and 'lang="ko"' in page
        r = client.post(f"/r/{token}/rate", data=form | {"played": "1"}, follow_redirects=False)
        assert r.status_code == 303
        assert "페이지가 없습니다." in _is_page(client.get("/nope"), 404)
    study.engine.dispose()


def test_admin_page_has_tiles_histogram_and_sortable_tables(mos):
    client, token = mos
    html = client.get(f"/r/{token}").text
    client.post(f"/r/{token}/start", data={"csrf": _csrf(html)})
    html = client.get(f"/admin?token={ADMIN}").text
    assert 'class="tiles"' in html and "<svg" in html and 'class="sortable"' in html
    assert 'id="t-systems"' in html and 'id="t-below"' in html and "/static/admin.js" in html
    status = client.get(f"/admin?token={ADMIN}&format=json").json()
    assert status["ratings"] == 0 and len(status["below"]) == status["clips"] == 12
    assert client.get("/admin?token=wrong").status_code == 403
