"""Screenshots of every participant page (375 and 1280 px wide) and the admin page.

A tool for reviewing the pages, not a test::

    PYTHONPATH=src python tests/survey/screenshots.py OUT_FOLDER

Runs the demo study under uvicorn on a free loopback port and drives Debian's Chromium
(Playwright) through consent, demographics, sample, instructions, rating and completion,
plus a 404 page, the page another browser sees for a platform ID in use, the ineligible
page and the admin page. Files: ``<n>_<page>_<width>.png``.
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from pathlib import Path

import uvicorn
from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))
from survey_helpers import free_port

from emoconvey.survey.app import create_app
from emoconvey.survey.config import load_config
from emoconvey.survey.demo import make_demo_files
from emoconvey.survey.study import init_study, open_study

ADMIN = "a" * 24


def submit(page) -> None:
    with page.expect_navigation():
        page.locator("button[type=submit]").first.click()


def demographics(page, age: str) -> None:
    page.select_option("#gender", "Female")
    page.fill("#age", age)
    page.locator("input[name=fluency][value=yes]").check()
    submit(page)


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp())
    clips, config = make_demo_files(tmp)
    init_study(tmp / "study.db", clips, config=load_config(config))
    study = open_study(tmp / "study.db")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(study, admin_token=ADMIN, seed=1),
                                           host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium",
                                     args=["--no-sandbox", "--disable-gpu"])
        for w in (375, 1280):
            ctx = browser.new_context(viewport={"width": w, "height": 800})
            page = ctx.new_page()

            def shot(name: str, p=page, w=w) -> None:
                p.screenshot(path=str(out / f"{name}_{w}.png"), full_page=True)

            page.goto(f"{url}/?PROLIFIC_PID=SHOT{w}")
            shot("1_consent")
            page.locator("input[name=consent]").check()
            submit(page)
            shot("2_demographics")
            demographics(page, "34")
            shot("3_sample")
            submit(page)
            shot("4_instructions")
            submit(page)
            n = 0
            while page.locator("form.rate-form").count():
                if n == 0:
                    shot("5_rating")
                page.locator("label.point:has(input[name=valence][value='3'])").click()
                page.locator("label.point:has(input[name=arousal][value='3'])").click()
                submit(page)
                n += 1
            shot("6_done")
            page.goto(f"{url}/nope")
            shot("7_error404")
            other = browser.new_context(viewport={"width": w, "height": 800}).new_page()
            other.goto(f"{url}/?PROLIFIC_PID=SHOT{w}")
            other.screenshot(path=str(out / f"9_pid_other_browser_{w}.png"), full_page=True)
            other.goto(f"{url}/?PROLIFIC_PID=YOUNG{w}")
            other.locator("input[name=consent]").check()
            submit(other)
            demographics(other, "15")
            other.screenshot(path=str(out / f"10_ineligible_{w}.png"), full_page=True)
            other.locator("details.fix summary").click()  # the answers given, to correct
            other.screenshot(path=str(out / f"11_ineligible_fix_{w}.png"), full_page=True)
            other.evaluate("document.querySelectorAll('[required]').forEach(e => {"
                           " e.removeAttribute('required'); e.checked = false; })")
            other.fill("#age", "30")
            submit(other)  # no fluency answer: 422, the form again as filled in
            other.screenshot(path=str(out / f"12_answer_missing_{w}.png"), full_page=True)
            page.goto(f"{url}/admin?token={ADMIN}")
            shot("8_admin")
            ctx.close()
        browser.close()
    server.should_exit = True


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "survey-screenshots"))
