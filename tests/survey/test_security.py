"""Bad input and security: every rejected request is a clear 4xx and changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from survey_helpers import current_position, start_session, to_ratings

from emoconvey.survey.storage import Participant, Rating


def n_ratings(study) -> int:
    with study.store.read() as s:
        return s.scalar(select(func.count()).select_from(Rating))


@pytest.fixture
def rating_session(client):
    token = start_session(client)
    csrf = to_ratings(client, token)
    return token, csrf, current_position(client, token)


@pytest.mark.parametrize(
    "change,status",
    [
        ({"valence": "10"}, 422),
        ({"valence": "0"}, 422),
        ({"arousal": "-1"}, 422),
        ({"valence": "5.5"}, 422),
        ({"valence": "abc"}, 422),
        ({"valence": None}, 422),
        ({"arousal": ""}, 422),
        ({"position": None}, 422),
        ({"position": "999"}, 422),
        ({"csrf": None}, 403),
        ({"csrf": "forged"}, 403),
    ],
)
def test_bad_rating_is_rejected_without_change(client, demo_study, rating_session, change,
                                               status):
    token, csrf, pos = rating_session
    data = {"csrf": csrf, "position": str(pos), "valence": "5", "arousal": "5"}
    for k, v in change.items():
        if v is None:
            data.pop(k)
        else:
            data[k] = v
    r = client.post(f"/s/{token}/rate", data=data, headers={"accept": "application/json"})
    assert r.status_code == status, r.text
    assert r.json()["detail"]
    assert n_ratings(demo_study) == 0
    assert current_position(client, token) == pos


def test_answers_in_order_only(client, demo_study, rating_session):
    token, csrf, pos = rating_session
    r = client.post(f"/s/{token}/rate", data={"csrf": csrf, "position": str(pos + 1),
                                              "valence": "5", "arousal": "5"})
    assert r.status_code == 409
    assert n_ratings(demo_study) == 0


def test_body_limits_and_formats(client, demo_study, rating_session):
    token, csrf, pos = rating_session
    url = f"/s/{token}/rate"
    big = {"csrf": csrf, "position": str(pos), "valence": "5", "arousal": "5",
           "pad": "x" * 20000}
    assert client.post(url, data=big).status_code == 413
    assert client.post(url, json={"csrf": csrf, "valence": 5}).status_code == 415
    bad_multipart = client.post(url, content=b"--xx\r\nnonsense",
                                headers={"content-type": "multipart/form-data; boundary=xx"})
    assert bad_multipart.status_code in (400, 422)
    dup = client.post(url, content=f"csrf={csrf}&position={pos}&valence=5&valence=6&arousal=5",
                      headers={"content-type": "application/x-www-form-urlencoded"})
    assert dup.status_code == 400
    files = client.post(url, data={"csrf": csrf}, files={"valence": ("a.txt", b"5")})
    assert files.status_code == 400
    assert n_ratings(demo_study) == 0


def test_cross_origin_post_refused(client, demo_study, rating_session):
    token, csrf, pos = rating_session
    r = client.post(f"/s/{token}/rate",
                    data={"csrf": csrf, "position": str(pos), "valence": "5", "arousal": "5"},
                    headers={"origin": "https://evil.example"})
    assert r.status_code == 403
    assert n_ratings(demo_study) == 0


def test_start_needs_csrf_cookie_and_consent(client, demo_study):
    client.get("/")
    cookie = client.cookies.get("ec_csrf")
    assert client.post("/start", data={"csrf": "nope", "consent": "yes"}).status_code == 403
    assert client.post("/start", data={"csrf": cookie}).status_code == 422
    with demo_study.store.read() as s:
        assert s.scalar(select(func.count()).select_from(Participant)) == 0


def test_tokens_and_clips_are_private(client, rating_session):
    token, _, pos = rating_session
    assert client.get("/s/not-a-token").status_code == 404
    assert client.get("/s/" + "A" * 43).status_code == 404
    ok = client.get(f"/s/{token}/audio/{pos}")
    assert ok.status_code == 200 and ok.headers["content-type"] == "audio/wav"
    assert ok.content[:4] == b"RIFF"
    other = start_session(client)  # not yet assigned any clip
    assert client.get(f"/s/{other}/audio/{pos}").status_code == 404
    for path in ("..%2F..%2Fstudy.yaml", "../../etc/passwd", "-1",
                 "%2e%2e%2f%2e%2e%2fstudy.db", "0%2f..%2f..%2fx"):
        assert client.get(f"/s/{token}/audio/{path}").status_code == 404
    assert client.get("/static/../app.py").status_code == 404
    assert client.get("/static/%2e%2e/app.py").status_code == 404
    assert client.get(f"/s/{token}/audio/sample").status_code == 200


def test_security_headers_and_no_token_leak(client):
    r = client.get("/")
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["x-frame-options"] == "DENY"
    assert "samesite=strict" in r.headers["set-cookie"].lower()


def test_admin_requires_token(client):
    assert client.get("/admin").status_code == 401
    assert client.get("/admin/status.json").status_code == 401
    assert client.get("/admin", headers={"authorization": "Bearer nope"}).status_code == 403


# ----------------------------------------------------------------------------- platform IDs


def other_browser(client):
    """A second browser (its own cookie jar) on the same application."""
    from fastapi.testclient import TestClient

    return TestClient(client.app, base_url="http://testserver")


def finished_session_with_pid(client, pid: str) -> str:
    from survey_helpers import finish_session

    token = start_session(client, pid=pid)
    to_ratings(client, token)
    finish_session(client, token)
    assert "DEMO-1234" in client.get(f"/s/{token}").text
    return token


def assert_nothing_revealed(r, token: str) -> None:
    body = r.text
    assert token not in body and token not in r.headers.get("location", "")
    assert "DEMO-1234" not in body and 'name="contact"' not in body
    assert "/s/" not in body


def test_platform_id_does_not_open_session_in_other_browser(client, demo_study):
    token = finished_session_with_pid(client, "VICTIM1")
    attacker = other_browser(client)
    r = attacker.get("/?PROLIFIC_PID=VICTIM1", follow_redirects=False)
    assert r.status_code == 409
    assert_nothing_revealed(r, token)
    assert "contact the researcher" in r.text
    # the attacker's consent form (fresh CSRF cookie) with the victim's ID
    csrf = attacker.get("/").cookies.get("ec_csrf") or attacker.cookies.get("ec_csrf")
    r = attacker.post("/start", data={"csrf": csrf, "consent": "yes", "pid": "VICTIM1"},
                      follow_redirects=False)
    assert r.status_code == 409
    assert_nothing_revealed(r, token)
    r = attacker.post("/start", data={"csrf": csrf, "consent": "yes", "pid": "VICTIM1"},
                      headers={"accept": "application/json"})
    assert r.status_code == 409 and token not in r.text
    with demo_study.store.read() as s:  # no second session was created for the ID
        assert s.scalar(select(func.count()).select_from(Participant)
                        .where(Participant.platform_pid == "VICTIM1")) == 1
    # the participant's own browser still resumes by ID
    r = client.get("/?PROLIFIC_PID=VICTIM1", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith(token)


def test_resume_cookie_is_httponly_lax_and_only_its_hash_is_stored(client, demo_study):
    token = start_session(client, pid="P-COOKIE")
    cookie = client.cookies.get("ec_resume")
    assert cookie and len(cookie) >= 32
    r = client.get("/")
    header = r.headers.get("set-cookie", "").lower()
    assert "ec_resume" not in header or ("httponly" in header and "samesite=lax" in header)
    r = other_browser(client).get("/")
    morsels = [c for c in r.headers.get_list("set-cookie") if c.startswith("ec_resume=")]
    assert morsels and "httponly" in morsels[0].lower() and "samesite=lax" in morsels[0].lower()
    with demo_study.store.read() as s:
        p = s.scalar(select(Participant).where(Participant.token == token))
        assert p.resume_hash and cookie not in p.resume_hash
        import hashlib

        assert p.resume_hash == hashlib.sha256(cookie.encode()).hexdigest()


def test_admin_releases_a_stuck_platform_id(client, demo_study):
    from survey_helpers import ADMIN, csrf_of

    token = start_session(client, pid="STUCK1")
    new = other_browser(client)
    assert new.get("/?PROLIFIC_PID=STUCK1", follow_redirects=False).status_code == 409
    page = client.get(f"/admin?token={ADMIN}").text
    admin_csrf = csrf_of(page)
    url = "/admin/release"
    # no token, wrong token, no CSRF, cross-origin, unknown ID: refused, nothing changes
    assert client.post(url, data={"csrf": admin_csrf, "pid": "STUCK1"}).status_code == 401
    assert client.post(url, data={"csrf": admin_csrf, "pid": "STUCK1",
                                  "token": "wrong"}).status_code == 403
    assert client.post(url, data={"pid": "STUCK1", "token": ADMIN}).status_code == 403
    assert client.post(url, data={"csrf": admin_csrf, "pid": "STUCK1", "token": ADMIN},
                       headers={"origin": "https://evil.example"}).status_code == 403
    assert client.post(url, data={"csrf": admin_csrf, "pid": "NOPE",
                                  "token": ADMIN}).status_code == 404
    assert new.get("/?PROLIFIC_PID=STUCK1", follow_redirects=False).status_code == 409
    r = client.post(url, data={"csrf": admin_csrf, "pid": "STUCK1", "token": ADMIN})
    assert r.status_code == 200 and "released" in r.text
    # the next browser presenting the ID consents and continues the same session ...
    r = new.get("/?PROLIFIC_PID=STUCK1", follow_redirects=False)
    assert r.status_code == 200
    r = new.post("/start", data={"csrf": csrf_of(r.text), "consent": "yes", "pid": "STUCK1"},
                 follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith(token)
    assert new.get("/?PROLIFIC_PID=STUCK1", follow_redirects=False).status_code == 303
    # ... and is now the only one that may
    assert client.get("/?PROLIFIC_PID=STUCK1", follow_redirects=False).status_code == 409
    third = other_browser(client)
    assert third.get("/?PROLIFIC_PID=STUCK1", follow_redirects=False).status_code == 409


def test_streamed_oversized_body_is_413_and_errors_name_no_internals(client, demo_study,
                                                                      rating_session):
    token, csrf, pos = rating_session
    url = f"/s/{token}/rate"

    def chunks():  # 10 MB without a Content-Length (chunked transfer)
        yield f"csrf={csrf}&position={pos}&valence=5&arousal=5&pad=".encode()
        for _ in range(160):
            yield b"x" * 65536

    r = client.post(url, content=chunks(),
                    headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413, r.text
    bodies = [
        client.post(url, content=b"--xx\r\nnonsense",
                    headers={"content-type": "multipart/form-data; boundary=xx"}),
        client.post(url, content=b"csrf=\xff\xfe&valence=5",
                    headers={"content-type": "application/x-www-form-urlencoded"}),
        client.post(url, content="&".join(f"f{i}=1" for i in range(100)),
                    headers={"content-type": "application/x-www-form-urlencoded"}),
    ]
    assert [r.status_code for r in bodies[1:]] == [400, 400]
    assert bodies[0].status_code in (400, 422)
    for r in bodies:
        for name in ("HTTPException", "ValueError", "UnicodeDecodeError", "_TooLarge",
                     "Exception", "Traceback"):
            assert name not in r.text
    assert n_ratings(demo_study) == 0


SECURITY_HEADERS = ("content-security-policy", "x-content-type-options", "x-frame-options",
                    "referrer-policy")


def test_413_is_a_page_in_the_study_language_with_the_security_headers(client, demo_study,
                                                                       rating_session):
    token, csrf, _ = rating_session
    url = f"/s/{token}/rate"
    declared = client.post(url, data={"csrf": csrf, "pad": "x" * 20000})

    def chunks():  # no Content-Length: refused while reading
        yield f"csrf={csrf}&pad=".encode()
        for _ in range(4):
            yield b"x" * 65536

    streamed = client.post(url, content=chunks(),
                           headers={"content-type": "application/x-www-form-urlencoded"})
    for r in (declared, streamed):
        assert r.status_code == 413 and r.headers["content-type"].startswith("text/html")
        assert demo_study.config.text("error_4xx") in r.text and '<html lang="en"' in r.text
        assert all(h in r.headers for h in SECURITY_HEADERS)
    r = client.post(url, data={"pad": "x" * 20000}, headers={"accept": "application/json"})
    assert r.status_code == 413 and "larger than" in r.json()["detail"]


def test_head_of_the_consent_page(client):
    get, head = client.get("/"), client.head("/")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    assert all(h in head.headers for h in SECURITY_HEADERS)


def test_access_log_never_holds_the_admin_token(demo_study):
    import logging
    import threading
    import time

    import httpx
    import uvicorn
    from survey_helpers import ADMIN, free_port

    from emoconvey.survey.app import create_app

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(demo_study, admin_token=ADMIN),
                                           host="127.0.0.1", port=port, access_log=True,
                                           log_level="info"))  # configures uvicorn's logging
    lines: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())
    logging.getLogger("uvicorn.access").addHandler(handler)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.05)
        r = httpx.get(f"http://127.0.0.1:{port}/admin?token={ADMIN}&x=1")
        assert r.status_code == 200
    finally:
        server.should_exit = True
        thread.join(10)
        logging.getLogger("uvicorn.access").removeHandler(handler)
    assert any("/admin?token=***&x=1" in line for line in lines), lines
    assert not any(ADMIN in line for line in lines)
