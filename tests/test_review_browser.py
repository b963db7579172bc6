"""The review app in a real browser (Playwright driving Debian's chromium) against a real
uvicorn server: a reviewer labels through the tree with the keyboard, meets a gold question,
a second reviewer disagrees, a lead adjudicates; the lease countdown and wellness mode work.
Screenshots go to the test's tmp dir and to /tmp/review-shots/."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from charter.review.models import Adjudication, Assignment
from charter.server.review import ReviewSettings, create_review_app
from review_support import bundle  # noqa: F401
from review_web_support import PASSWORD, SECRET, Web, fast_password_hashing, seed_store  # noqa: F401

sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip("Debian's chromium is not installed at /usr/bin/chromium", allow_module_level=True)
uvicorn = pytest.importorskip("uvicorn")

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
SHOTS = Path("/tmp/review-shots")
TASK_PATH = re.compile(r"/p/\d+/task/\d+")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, bundle, fast_password_hashing):  # noqa: F811
    folder = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{folder / 'review.db'}"
    project_id = seed_store(url, bundle, n_items=2, gold_share=0.5, gold_rate=0.5)
    settings = ReviewSettings(secret_key=SECRET, database_url=url, cookie_secure=False)
    port = _free_port()
    instance = uvicorn.Server(uvicorn.Config(create_review_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not instance.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", Web(url, project_id, settings)
    instance.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield instance
        instance.close()


class Shots:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        SHOTS.mkdir(parents=True, exist_ok=True)

    def __call__(self, page, name: str) -> None:
        path = self.folder / f"{name}.png"
        page.screenshot(path=str(path))
        shutil.copy(path, SHOTS / path.name)


def _page(browser, base: str, username: str, problems: list[str]):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.on("pageerror", lambda error: problems.append(f"{username}: {error}"))
    page.on("request", lambda request: problems.append(f"{username} fetched {request.url}")
            if not request.url.startswith((base, "data:")) else None)
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "/login" not in page.url, f"{username} could not log in"
    return page


def _walk(page, keys: str) -> None:
    """Answer the tree with the keyboard; each key waits for the next question to render.
    (Selectors, not wait_for_function: the app's CSP forbids the eval that polling needs.)"""
    for key in keys:
        step = page.locator("#path li.step").count()
        page.keyboard.press(key)
        page.wait_for_selector(f"#path li.step >> nth={step}")


def test_label_gold_disagree_adjudicate(server, browser, tmp_path: Path) -> None:
    base, web = server
    shot = Shots(tmp_path)
    problems: list[str] = []
    gold = web.gold_task_ids()

    alice = _page(browser, base, "alice", problems)
    shot(alice, "b01-dashboard")
    alice.keyboard.press("Enter")  # start labeling
    alice.wait_for_url(TASK_PATH)
    assert alice.locator("#q-node").inner_text() == "targets_group"
    shot(alice, "b02-question")
    _walk(alice, "y1n")
    alice.keyboard.press("Backspace")  # change the last answer
    alice.wait_for_selector("#path li.step >> nth=2", state="detached")
    assert alice.locator("#path li.step").count() == 2
    _walk(alice, "ny")
    assert alice.locator("#o-id").inner_text() == "violating_slur"
    assert "HATE.1a" in alice.locator("#o-rules").inner_text()
    assert alice.locator("#submit").is_enabled()
    assert alice.locator('svg [data-box="uses_slur"].on-path').count() == 1
    shot(alice, "b03-outcome")
    first_url = alice.url
    alice.keyboard.press("Enter")  # submit
    alice.wait_for_url(lambda url: TASK_PATH.search(url) is not None and url != first_url)
    second = int(alice.url.rsplit("/", 1)[1].split("?")[0])
    assert web.task_of(second).id in gold  # the second task served is the gold question...
    assert "gold" not in alice.content().lower()  # ...and nothing on the page says so
    shot(alice, "b04-gold-looks-ordinary")
    _walk(alice, "n")
    alice.keyboard.press("Enter")
    alice.wait_for_url(re.compile(r"/p/\d+$"))
    assert "Nothing is waiting" in alice.content()

    bob = _page(browser, base, "bob", problems)
    bob.keyboard.press("Enter")
    bob.wait_for_url(TASK_PATH)
    _walk(bob, "n")
    assert bob.locator("#o-label").inner_text() == "allowed"
    shot(bob, "b05-second-reviewer-disagrees")
    labelled_at = bob.url
    bob.keyboard.press("Enter")
    bob.wait_for_url(lambda url: url != labelled_at)

    lena = _page(browser, base, "lena", problems)
    lena.goto(f"{base}/p/{web.project_id}/lead/disputes")
    lena.click("#disputes a.btn")
    lena.wait_for_selector("#compare")
    assert lena.locator("#compare tr.differs").count() >= 1
    shot(lena, "b06-adjudicate")
    lena.check('input[name="verdict"][value="violating"]')
    lena.check('input[name="rule_id"][value="HATE.1a"]')
    lena.fill("#rationale", "A slur aimed at a protected group; the second reviewer missed it.")
    lena.click("#adjudicate-form button[type=submit]")
    lena.wait_for_url(re.compile(r"/lead/disputes$"))
    assert "Nothing to adjudicate" in lena.content()
    shot(lena, "b07-adjudicated")
    with web.session() as session:
        assert session.scalar(select(Adjudication.verdict)) == "violating"
    assert problems == []


def test_countdown_expiry_skip_dialog_and_wellness(server, browser, tmp_path: Path) -> None:
    base, web = server
    shot = Shots(tmp_path)
    problems: list[str] = []
    lena = _page(browser, base, "lena", problems)
    lena.goto(f"{base}/p/{web.project_id}")
    lena.click("#wellness-toggle")
    lena.wait_for_selector("body.wellness")
    lena.click("#start")
    lena.wait_for_url(TASK_PATH)
    assert lena.locator(".reveal-cover").first.is_visible()
    shot(lena, "b08-wellness-hidden")
    lena.keyboard.press("v")
    assert not lena.locator(".reveal-cover").first.is_visible()
    lena.keyboard.press("s")
    assert lena.locator("#skip-dialog").is_visible()
    lena.keyboard.press("3")
    assert lena.locator('#skip-dialog input[name="reason"]:checked').get_attribute("value") == "Conflict of interest"
    shot(lena, "b09-skip-dialog")
    lena.keyboard.press("Escape")
    lena.keyboard.press("?")
    assert lena.locator("#help-dialog").is_visible()
    lena.keyboard.press("Escape")

    assignment_id = int(lena.url.rsplit("/", 1)[1].split("?")[0])
    with web.session() as session:
        session.get(Assignment, assignment_id).expires_at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=6)
    lena.reload()
    _walk(lena, "n")
    lena.wait_for_selector("#lease-expired", state="visible", timeout=20000)
    assert lena.locator("#submit").is_disabled()
    shot(lena, "b10-lease-expired")
    lena.click("#lease-expired button")
    lena.wait_for_load_state()
    assert problems == []
