"""Helpers that drive a participant through the survey with a TestClient."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable

ADMIN = "test-admin-token-0123456789"


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ----------------------------------------------------------------------------- helpers


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF field in page"
    return m.group(1)


def start_session(client, pid: str | None = None) -> str:
    """Consent and return the session token."""
    url = "/" + (f"?PROLIFIC_PID={pid}" if pid else "")
    r = client.get(url)
    assert r.status_code == 200, r.text
    csrf = csrf_of(r.text)
    r = client.post("/start", data={"csrf": csrf, "consent": "yes", "pid": pid or ""},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    return r.headers["location"].rsplit("/", 1)[-1]


def session_csrf(client, token: str) -> str:
    return csrf_of(client.get(f"/s/{token}").text)


def to_ratings(client, token: str, *, age: int = 30) -> str:
    """Go through demographics, sample and instructions; return the CSRF token."""
    csrf = session_csrf(client, token)
    r = client.post(f"/s/{token}/demographics",
                    data={"csrf": csrf, "gender": "Female", "age": str(age), "fluency": "yes"},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    r = client.post(f"/s/{token}/sample", data={"csrf": csrf, "valence": "3", "arousal": "3"},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    r = client.post(f"/s/{token}/instructions", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return csrf


def current_position(client, token: str) -> int | None:
    html = client.get(f"/s/{token}").text
    m = re.search(r'name="position" value="([0-9]+)"', html)
    return int(m.group(1)) if m else None


def finish_session(client, token: str, answer: Callable[[int], tuple[int, int]] = lambda i: (5, 5),
                   limit: int | None = None) -> int:
    """Answer the remaining clips (at most ``limit``); return how many were answered."""
    csrf = session_csrf(client, token)
    n = 0
    while (pos := current_position(client, token)) is not None:
        if limit is not None and n >= limit:
            break
        v, a = answer(pos)
        r = client.post(f"/s/{token}/rate", data={"csrf": csrf, "position": str(pos),
                                                   "valence": str(v), "arousal": str(a),
                                                   "played": "1"}, follow_redirects=False)
        assert r.status_code == 303, r.text
        n += 1
    return n
