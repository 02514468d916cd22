"""A real browser (Debian's Chromium via Playwright) completes a demo session."""

from __future__ import annotations

import importlib
import os
import shutil
import threading
import time
from pathlib import Path

import pytest
from survey_helpers import free_port

from emoconvey.data import load_dataset
from emoconvey.survey.app import create_app
from emoconvey.survey.config import load_config
from emoconvey.survey.export import export_study
from emoconvey.survey.study import init_study, open_study

CHROMIUM = "/usr/bin/chromium"
AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
"""axe-core from npm (``scripts/system-deps.sh`` installs it from tests/survey/package.json)."""
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        "--autoplay-policy=no-user-gesture-required"]

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def live_server(tmp_path, demo_files):
    import uvicorn

    if not Path(CHROMIUM).is_file():
        pytest.skip(f"{CHROMIUM} not found (run scripts/system-deps.sh)")
    pytest.importorskip("playwright.sync_api", reason="playwright (python) is not installed")
    clips, config = demo_files
    init_study(tmp_path / "study.db", clips, config=load_config(config))
    study = open_study(tmp_path / "study.db")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(study, admin_token="a" * 24, seed=1),
                                           host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", study
    server.should_exit = True
    thread.join(10)


def check_accessibility(page, name: str, found: dict) -> None:
    """Run axe-core in the page (WCAG 2.x A/AA rules); keep its serious/critical findings
    and ``page-has-heading-one``, and note a page wider than the viewport.

    axe is evaluated through the DevTools protocol, so the page's strict CSP (no inline
    scripts) stays in force.
    """
    if not AXE.is_file():
        pytest.skip(f"{AXE} not found (run scripts/system-deps.sh: npm install axe-core)")
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        "async () => (await axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length,"
        " target: v.nodes[0] && v.nodes[0].target.join(' ')}))")
    found[name] = [v for v in result if v["impact"] in ("serious", "critical")
                   or v["id"] == "page-has-heading-one"]
    width = page.viewport_size["width"]
    scroll = page.evaluate("document.documentElement.scrollWidth")
    if scroll > width:  # nothing may overflow the viewport sideways
        found[name].append({"id": "overflow", "scrollWidth": scroll, "viewport": width})


def submit(page) -> None:
    with page.expect_navigation():
        page.get_by_role("button").click()


def new_page(browser, width: int):
    """A page ``width`` px wide (a phone below 600 px)."""
    mobile = width < 600
    return browser.new_page(viewport={"width": width, "height": 844 if mobile else 900},
                            is_mobile=mobile, has_touch=mobile, device_scale_factor=1)


@pytest.mark.parametrize("width", [375, 1280])
def test_participant_session_in_chromium(live_server, tmp_path, width):
    from playwright.sync_api import sync_playwright

    url, study = live_server
    shots = Path(os.environ.get("EMOCONVEY_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = new_page(browser, width)
        csp_errors: list[str] = []
        page.on("console", lambda m: csp_errors.append(m.text)
                if "Content Security Policy" in m.text else None)
        axe: dict[str, list] = {}
        page.goto(f"{url}/?PROLIFIC_PID=BROWSER1")
        check_accessibility(page, "consent", axe)
        page.get_by_role("checkbox").check()
        submit(page)
        check_accessibility(page, "demographics", axe)
        page.select_option("#gender", "Female")
        page.fill("#age", "34")
        page.check("input[name=fluency][value=yes]")
        submit(page)
        assert page.locator("audio").count() == 1  # sample clip
        check_accessibility(page, "sample", axe)
        # the player says when the clip has been played to the end
        status = page.locator(".play-status")
        assert status.get_attribute("data-state") == "waiting"
        assert not page.locator(".play-status .done-text").is_visible()
        page.evaluate("document.querySelector('audio').play()")
        page.wait_for_selector(".play-status[data-state=done]", timeout=15_000)
        assert page.locator(".play-status .done-text").is_visible()
        assert not page.locator(".play-status .waiting-text").is_visible()
        submit(page)
        check_accessibility(page, "instructions", axe)
        submit(page)  # instructions -> ratings
        n = 0
        while page.locator("form.rate-form").count():
            if n == 0:
                check_accessibility(page, "rating", axe)
                # required scales: submitting empty keeps us on the page
                page.get_by_role("button").click()
                assert page.locator("form.rate-form input[name=position]").input_value() == "0"
                assert page.locator(".missing").is_visible()
                page.screenshot(path=str(shots / "rating_page.png"), full_page=True)
                # keyboard only: focus the valence group, move with arrow keys
                page.locator("input[name=valence][value='1']").focus()
                for _ in range(6):
                    page.keyboard.press("ArrowRight")
                assert page.locator("input[name=valence]:checked").get_attribute("value") == "7"
                page.locator("input[name=arousal][value='1']").focus()
                page.keyboard.press("Space")
                page.keyboard.press("ArrowRight")
                assert not page.locator(".missing").is_visible()  # every scale answered
                with page.expect_navigation():
                    page.keyboard.press("Enter")
            else:
                page.locator(f"label.point:has(input[name=valence][value='{1 + n % 9}'])").click()
                page.locator("label.point:has(input[name=arousal][value='3'])").click()
                submit(page)
            n += 1
            assert n < 20
        assert page.locator("#completion-code").inner_text() == "DEMO-1234"
        check_accessibility(page, "completion", axe)
        page.screenshot(path=str(shots / "done_page.png"), full_page=True)
        page.goto(f"{url}/no-such-page")
        check_accessibility(page, "error", axe)
        page.goto(f"{url}/admin?token={'a' * 24}")
        assert page.locator("#finished").inner_text() == "1"
        check_accessibility(page, "admin", axe)
        page.locator("#sec-flags summary").click()  # sections fold; state survives reload
        page.reload()
        assert page.locator("#sec-flags").get_attribute("open") is None
        browser.close()
    assert {k for k, v in axe.items() if v} == set(), axe  # no serious/critical violation
    assert set(axe) == {"consent", "demographics", "sample", "instructions", "rating",
                        "completion", "error", "admin"}
    assert csp_errors == []  # the pages need nothing the CSP forbids
    assert n == 8
    paths = export_study(study, tmp_path / "export")
    ds = load_dataset(paths["ratings"], paths["clips"], paths["intents"], min_ratings=1)
    assert len(ds.ratings) == 6 and ds.listeners == ["P1"]
    first = ds.ratings.iloc[0]
    assert (first["valence"], first["arousal"]) == (7, 2)
    build = getattr(importlib.import_module("emoconvey.report"), "build_report", None)
    if build is not None:
        build(ds, out=tmp_path / "report", figures=False)
    if os.environ.get("EMOCONVEY_SCREENSHOTS") is None:
        shutil.copy(shots / "rating_page.png", tmp_path / "kept.png")


LONG_URL = ("https://app.prolific.example/submissions/complete?cc={code}"
            "&study=0123456789abcdef0123456789abcdef&session=fedcba9876543210fedcba9876543210")


@pytest.mark.parametrize("width", [375, 1280])
def test_platform_link_buttons_have_a_label_and_fit_the_screen(tmp_path, demo_files, width):
    """The completion and screen-out links are labelled buttons, never wider than a phone."""
    from dataclasses import replace

    import httpx
    import uvicorn
    from playwright.sync_api import sync_playwright
    from survey_helpers import finish_session, session_csrf, start_session, to_ratings

    if not Path(CHROMIUM).is_file():
        pytest.skip(f"{CHROMIUM} not found (run scripts/system-deps.sh)")
    clips, config = demo_files
    init_study(tmp_path / "study.db", clips, config=replace(
        load_config(config), completion_url=LONG_URL, screenout_code="SCR-77",
        screenout_url=LONG_URL))
    study = open_study(tmp_path / "study.db")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(study, admin_token=None, seed=1),
                                           host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url) as c:  # one finished, one screened-out participant
            done = start_session(c)
            to_ratings(c, done)
            finish_session(c, done)
            out = start_session(c)
            c.post(f"/s/{out}/demographics", data={"csrf": session_csrf(c, out),
                                                   "gender": "Male", "age": "15",
                                                   "fluency": "yes"})
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = new_page(browser, width)
            for token, label in ((done, "completion_link"), (out, "screenout_link")):
                page.goto(f"{url}/s/{token}")
                link = page.locator("a.button-link")
                assert link.inner_text() == study.config.text(label)
                assert link.get_attribute("href").startswith("https://app.prolific.example/")
                assert page.evaluate("document.documentElement.scrollWidth") <= width
                box = link.bounding_box()
                assert box["x"] >= 0 and box["x"] + box["width"] <= width
                page.screenshot(path=str(tmp_path / f"{label}_{width}.png"), full_page=True)
            browser.close()
    finally:
        server.should_exit = True
        thread.join(10)
