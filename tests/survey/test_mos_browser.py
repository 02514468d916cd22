"""A real browser (Debian's Chromium via Playwright) completes a MOS batch, prompt shown."""

from __future__ import annotations

import csv
import os
import threading
import time
from pathlib import Path

import pytest
from survey_helpers import free_port
from test_browser import check_accessibility, new_page
from test_mos_study import make_files

from emoconvey.data.musiceval import load_musiceval
from emoconvey.survey.mos_app import create_mos_app
from emoconvey.survey.protocols.musiceval import (
    export_mos_study,
    init_mos_study,
    invite_mos_raters,
    open_mos_study,
    read_mos_config,
)

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def mos_server(tmp_path):
    import uvicorn

    if not Path(CHROMIUM).is_file():
        pytest.skip(f"{CHROMIUM} not found (run scripts/system-deps.sh)")
    pytest.importorskip("playwright.sync_api", reason="playwright (python) is not installed")
    files = make_files(tmp_path / "files")
    init_mos_study(
        tmp_path / "mos.db",
        files["root"],
        manifest=files["manifest"],
        prompts=files["prompts"],
        config=read_mos_config(files["config"]),
    )
    study = open_mos_study(tmp_path / "mos.db", seed=0)
    port = free_port()
    links = invite_mos_raters(
        study, tmp_path / "invites.csv", n=1, base_url=f"http://127.0.0.1:{port}"
    )
    server = uvicorn.Server(
        uvicorn.Config(
            create_mos_app(study, admin_token="a" * 24),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    with links.open() as fh:
        link = next(csv.DictReader(fh))["link"]
    yield link, study
    server.should_exit = True
    thread.join(10)


@pytest.mark.parametrize("width", [375, 1280])
def test_mos_batch_in_chromium(mos_server, tmp_path, width):
    from playwright.sync_api import sync_playwright

    link, study = mos_server
    shots = Path(os.environ.get("EMOCONVEY_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    prompts = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = new_page(browser, width)
        csp_errors: list[str] = []
        page.on(
            "console",
            lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None,
        )
        axe: dict[str, list] = {}
        page.goto(link)
        assert "Start" in page.content()
        check_accessibility(page, "mos_instructions", axe)
        page.screenshot(path=str(shots / "mos_instructions.png"), full_page=True)
        with page.expect_navigation():
            page.get_by_role("button", name="Start").click()
        n = 0
        while page.locator("form.mos-form").count():
            prompt = page.locator("#prompt")
            assert prompt.is_visible()
            prompts.append(prompt.inner_text())
            assert page.locator("audio").count() == 1
            if n == 0:
                page.screenshot(path=str(shots / "mos_rating.png"), full_page=True)
                check_accessibility(page, "mos_rating", axe)
            assert page.locator(".play-status").get_attribute("data-state") == "waiting"
            # an unanswered scale keeps the page (required fields), with a reminder
            page.locator("#scale-MI input[value='4']").check()
            page.get_by_role("button", name="Next").click()
            assert page.locator("form.mos-form").count() == 1
            assert page.locator(".missing").is_visible()
            page.locator("#scale-TA input[value='5']").check()
            assert not page.locator(".missing").is_visible()
            with page.expect_navigation():
                page.get_by_role("button", name="Next").click()
            n += 1
            assert n < 50
        assert "Batch finished" in page.content()
        assert page.locator("nav.steps [aria-current=step]").inner_text().endswith("Ratings")
        page.screenshot(path=str(shots / "mos_batch_done.png"), full_page=True)
        check_accessibility(page, "mos_batch_done", axe)
        for path in ("/nope", "/r/" + "x" * 40, "/r/" + link.rsplit("/", 1)[1] + "/rate"):
            page.goto(link.split("/r/")[0] + path)
            check_accessibility(page, "mos_error" + path[:4], axe)
            assert page.locator("h1").count() == 1 and "{" not in page.inner_text("main")
        page.goto(link.split("/r/")[0] + "/admin?token=" + "a" * 24)
        assert "MOS study progress" in page.content()
        page.screenshot(path=str(shots / "mos_admin.png"), full_page=True)
        check_accessibility(page, "mos_admin", axe)
        browser.close()
    assert not csp_errors
    assert all(not v for v in axe.values()), axe
    assert all(p.lower().startswith("text prompt:") for p in prompts)
    assert any("Prompt number" in p for p in prompts) and any("A real" in p for p in prompts)
    answers = study.answers()
    assert len(answers) == n and set(answers["MI"]) == {4} and set(answers["TA"]) == {5}
    assert (answers["role"] == "anchor").sum() == 1 and (answers["role"] == "repeat").sum() == 1
    export_mos_study(study, tmp_path / "export")
    ds = load_musiceval(tmp_path / "export")
    assert len(ds.ratings) == 2 * (answers["role"] == "main").sum()
