"""Screenshots of every page of a MOS study (``protocol: musiceval``), 375 and 1280 px.

A tool for reviewing the pages, not a test::

    PYTHONPATH=src python tests/survey/mos_screenshots.py OUT_FOLDER

Runs the MOS test study of ``test_mos_study.make_files`` under uvicorn on a free loopback
port and drives Debian's Chromium (Playwright) through instructions, a rating page (with
one scale answered), "batch finished", "all done", the index page, the error pages (unknown
path, bad rater link, GET on a POST route, bad audio path) and the admin page. Files:
``mos_<n>_<page>_<width>.png``.
"""

from __future__ import annotations

import csv
import sys
import tempfile
import threading
import time
from pathlib import Path

import uvicorn
from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))
from survey_helpers import free_port
from test_mos_study import make_files

ADMIN = "a" * 24


def start_server(tmp: Path) -> tuple[uvicorn.Server, str, list[str]]:
    """A MOS study with two invited raters, served on loopback; (server, url, links)."""
    from emoconvey.survey.mos_app import create_mos_app
    from emoconvey.survey.protocols.musiceval import (
        init_mos_study,
        invite_mos_raters,
        open_mos_study,
        read_mos_config,
    )

    files = make_files(tmp / "files")
    init_mos_study(tmp / "mos.db", files["root"], manifest=files["manifest"],
                   prompts=files["prompts"], config=read_mos_config(files["config"]))
    study = open_mos_study(tmp / "mos.db", seed=0)
    port = free_port()
    links = invite_mos_raters(study, tmp / "invites.csv", n=2,
                              base_url=f"http://127.0.0.1:{port}")
    app = create_mos_app(study, admin_token=ADMIN)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    with links.open() as fh:
        rows = [r["link"] for r in csv.DictReader(fh)]
    return server, f"http://127.0.0.1:{port}", rows


def submit(page) -> None:
    with page.expect_navigation():
        page.locator("button[type=submit]").first.click()


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    server, url, links = start_server(Path(tempfile.mkdtemp()))
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium",
                                     args=["--no-sandbox", "--disable-gpu"])
        for w, link in zip((375, 1280), links, strict=True):
            ctx = browser.new_context(viewport={"width": w, "height": 800})
            page = ctx.new_page()

            def shot(name: str, p=page, w=w) -> None:
                p.screenshot(path=str(out / f"mos_{name}_{w}.png"), full_page=True)

            page.goto(url + "/")
            shot("0_index")
            page.goto(link)
            shot("1_instructions")
            submit(page)
            shot("2_rating")
            page.locator("#scale-MI input[value='4']").check(force=True)
            shot("3_rating_half")
            n = 0
            while page.locator("form.mos-form").count() and n < 60:
                page.locator("#scale-MI input[value='4']").check(force=True)
                page.locator("#scale-TA input[value='4']").check(force=True)
                submit(page)
                n += 1
            shot("4_batch_done")
            while page.locator("form[action$='/start']").count() and n < 60:
                submit(page)
                while page.locator("form.mos-form").count() and n < 60:
                    page.locator("#scale-MI input[value='4']").check(force=True)
                    page.locator("#scale-TA input[value='4']").check(force=True)
                    submit(page)
                    n += 1
            shot("5_all_done")
            for name, path in (("6_error404", "/nope"), ("7_bad_link", "/r/" + "x" * 40),
                               ("8_get_post_route", link.split(url)[1] + "/rate"),
                               ("9_bad_audio", link.split(url)[1] + "/audio/abc/0")):
                page.goto(url + path)
                shot(name)
            print("favicon:", page.request.get(url + "/favicon.ico").status)
            page.goto(f"{url}/admin?token={ADMIN}")
            shot("11_admin")
            ctx.close()
        browser.close()
    server.should_exit = True


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "mos-screenshots"))
