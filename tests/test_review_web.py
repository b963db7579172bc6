"""The review web app through its routes (FastAPI TestClient on a seeded SQLite store): login and
sessions, CSRF on every POST, role isolation, the labeling flow, gold questions that look like
any other task, lease expiry, clear 4xx pages for bad input, adjudication and the export."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlalchemy import func, select

from charter.io.labelled import read_labelled_items
from charter.review.models import Adjudication, Assignment, LabelRow, User
from review_support import bundle  # noqa: F401
from review_web_support import PASSWORD, Web, copy_store, fast_password_hashing, post, seed_store, token  # noqa: F401

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
TASK_URL = re.compile(r"/p/(\d+)/task/(\d+)")
VIOLATING = ["targets_group=yes", "author_stance=endorses", "supports_violence=no", "uses_slur=yes"]
ALLOWED = ["targets_group=no"]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, bundle, fast_password_hashing) -> tuple[Path, int]:  # noqa: F811
    folder = tmp_path_factory.mktemp("web-template")
    project_id = seed_store(f"sqlite:///{folder / 'review.db'}", bundle)
    return folder / "review.db", project_id


@pytest.fixture
def web(template: tuple[Path, int], tmp_path: Path) -> Web:
    return copy_store(template[0], tmp_path, template[1])


def take(web: Web, client, queue: str | None = None) -> tuple[int, str]:
    """Lease the next task; returns its assignment id and the labeling page."""
    data = {"queue": queue} if queue else {}
    response = post(client, f"/p/{web.project_id}/next", data)
    assert response.status_code == 303, response.text
    found = TASK_URL.search(response.headers["location"])
    assert found, response.headers["location"]
    page = client.get(response.headers["location"])
    assert page.status_code == 200
    return int(found.group(2)), page.text


def submit(web: Web, client, assignment_id: int, steps: list[str], note: str = ""):
    return post(client, f"/p/{web.project_id}/task/{assignment_id}/submit", {"step": steps, "note": note})


# ------------------------------------------------------------------------------ login, sessions, CSRF


def test_pages_need_a_login(web: Web) -> None:
    client = web.client()
    response = client.get(f"/p/{web.project_id}")
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next=/p/{web.project_id}"


def test_wrong_password_is_refused_with_one_message(web: Web) -> None:
    client = web.client()
    for username in ("alice", "nobody"):
        response = post(client, "/login", {"username": username, "password": "not the password"})
        assert response.status_code == 401
        assert "Wrong username or password." in response.text
    assert client.get(f"/p/{web.project_id}").status_code == 303


def test_session_cookie_is_signed_httponly_secure_samesite(web: Web) -> None:
    client = web.client()
    response = post(client, "/login", {"username": "alice", "password": PASSWORD})
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "secure" in cookie and "samesite=lax" in cookie
    headers = client.get(f"/p/{web.project_id}").headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"


def test_login_redirects_only_within_the_site(web: Web) -> None:
    client = web.client()
    response = post(client, "/login", {"username": "alice", "password": PASSWORD, "next": "//evil.example/x"})
    assert response.headers["location"] == "/"


def test_every_post_needs_the_sessions_csrf_token(web: Web) -> None:
    client = web.login("alice")
    path = f"/p/{web.project_id}/next"
    missing = client.post(path, data={})
    forged = client.post(path, data={"csrf_token": "forged"})
    for response in (missing, forged):
        assert response.status_code == 403
        assert "This form has expired" in response.text
    other = web.login("bob")
    assert client.post(path, data={"csrf_token": token(other)}).status_code == 403  # another session's token
    with web.session() as session:
        assert session.scalar(select(func.count(Assignment.id))) == 0
    assert web.client().post("/login", data={"username": "alice", "password": PASSWORD}).status_code == 403
    assert post(client, path, {}).status_code == 303  # with its own token it works


def test_a_password_change_or_deactivation_ends_open_sessions(web: Web) -> None:
    alice = web.login("alice")
    admin = web.login("ada")
    with web.session() as session:
        alice_id = session.scalar(select(User.id).where(User.username == "alice"))
    assert post(admin, f"/admin/users/{alice_id}/deactivate", {}).status_code == 303
    assert alice.get(f"/p/{web.project_id}").status_code == 303  # back to the login page
    assert post(web.client(), "/login", {"username": "alice", "password": PASSWORD}).status_code == 401
    assert post(admin, f"/admin/users/{alice_id}/password", {"password": "a brand new passphrase"}).status_code == 303
    web.login("alice", "a brand new passphrase")


# ------------------------------------------------------------------------------ roles


def test_a_reviewer_cannot_open_or_submit_another_reviewers_task(web: Web) -> None:
    alice, bob = web.login("alice"), web.login("bob")
    aid, page = take(web, alice)
    text = re.search(r'id="item-text"[^>]*>([^<]+)<', page).group(1)
    peek = bob.get(f"/p/{web.project_id}/task/{aid}")
    assert peek.status_code == 404
    assert text not in peek.text and "not in your work" in peek.text
    assert submit(web, bob, aid, ALLOWED).status_code == 404
    with web.session() as session:
        assert session.scalar(select(func.count(LabelRow.id))) == 0


def test_a_reviewer_cannot_open_lead_or_admin_pages(web: Web) -> None:
    alice = web.login("alice")
    pid = web.project_id
    for path in (f"/p/{pid}/lead", f"/p/{pid}/lead/quality", f"/p/{pid}/lead/disputes", f"/p/{pid}/lead/tasks",
                 f"/p/{pid}/lead/tasks/1", f"/p/{pid}/lead/export", "/admin/users", "/admin/projects"):
        response = alice.get(path)
        assert response.status_code == 403, path
        assert "for leads and admins" in response.text or "for admins" in response.text
    assert post(alice, f"/p/{pid}/lead/tasks/1/adjudicate", {"verdict": "allowed", "rationale": "x"}).status_code == 403
    lena = web.login("lena")
    assert lena.get(f"/p/{pid}/lead").status_code == 200
    assert lena.get("/admin/users").status_code == 403


def test_reviewers_see_and_take_only_their_roles_queues(web: Web) -> None:
    alice, lena = web.login("alice"), web.login("lena")
    mine = alice.get(f"/p/{web.project_id}").text
    assert "standard_review" in mine and "specialist_hate" not in mine
    refused = post(alice, f"/p/{web.project_id}/next", {"queue": "specialist_hate"})
    assert refused.status_code == 403 and "You do not work the queue" in refused.text
    assert "specialist_hate" in lena.get(f"/p/{web.project_id}").text
    aid, _ = take(web, lena, "specialist_hate")
    assert web.task_of(aid).queue_id == "specialist_hate"


# ------------------------------------------------------------------------------ labeling


def test_label_skip_correct_and_history(web: Web) -> None:
    alice = web.login("alice")
    first, page = take(web, alice)
    assert "targets_group" in page and 'id="tree-data"' in page  # the policy's own node ids
    response = submit(web, alice, first, VIOLATING, note="slur aimed at a group")
    assert response.status_code == 303 and TASK_URL.search(response.headers["location"])  # straight to the next task
    assert "Saved: violating · HATE.1a" in alice.get(response.headers["location"]).text
    second = int(TASK_URL.search(response.headers["location"]).group(2))
    skipped = post(alice, f"/p/{web.project_id}/task/{second}/skip", {"reason": "Conflict of interest"})
    assert skipped.status_code == 303
    work = alice.get(f"/p/{web.project_id}/mine").text
    assert "Conflict of interest" in work and "HATE.1a" in work
    with web.session() as session:
        label_id = session.scalar(select(LabelRow.id).where(LabelRow.assignment_id == first))
    correction = alice.get(f"/p/{web.project_id}/labels/{label_id}/correct")
    assert correction.status_code == 200 and "Your earlier label" in correction.text
    saved = post(alice, f"/p/{web.project_id}/labels/{label_id}/correct", {"step": ALLOWED, "note": "misread"})
    assert saved.status_code == 303
    task_id = web.task_of(first).id
    history = web.login("lena").get(f"/p/{web.project_id}/lead/tasks/{task_id}").text
    assert "corrected to" in history and "superseded by label" in history and "slur aimed at a group" in history


def test_bad_form_input_gets_a_clear_4xx(web: Web) -> None:
    alice = web.login("alice")
    aid, _ = take(web, alice)
    pid = web.project_id
    cases = [
        (submit(web, alice, aid, ["nonsense"]), 400, "malformed answer"),
        (submit(web, alice, aid, []), 400, "walk the decision tree to an outcome"),
        (submit(web, alice, aid, ["targets_group=yes"]), 400, "no answer given for node"),
        (submit(web, alice, aid, ["targets_group=maybe"]), 400, "is not an option at node"),
        (submit(web, alice, aid, ["made_up=yes"]), 400, "not in the hate tree"),
        (submit(web, alice, aid, ALLOWED, note="x" * 5000), 422, "note"),
        (post(alice, f"/p/{pid}/task/{aid}/skip", {"reason": " "}), 400, "a skip needs a reason"),
        (alice.get(f"/p/{pid}/task/not-a-number"), 422, "aid"),
        (alice.get("/p/999"), 404, "no review project 999"),
    ]
    for response, status, text in cases:
        assert response.status_code == status, (text, response.text[:300])
        assert text in response.text, text
        assert "Traceback" not in response.text
    lena = web.login("lena")
    bad_verdict = post(lena, f"/p/{pid}/lead/tasks/1/adjudicate", {"verdict": "maybe", "rationale": "r"})
    assert bad_verdict.status_code == 400 and "unknown verdict" in bad_verdict.text
    short = post(web.login("ada"), "/admin/users", {"username": "eve", "password": "short", "role": "reviewer"})
    assert short.status_code == 400 and "password is too short" in short.text


def test_an_expired_lease_gets_a_clear_message_not_a_traceback(web: Web) -> None:
    alice = web.login("alice")
    aid, _ = take(web, alice)
    with web.session() as session:
        session.get(Assignment, aid).expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    for response in (alice.get(f"/p/{web.project_id}/task/{aid}"), submit(web, alice, aid, ALLOWED)):
        assert response.status_code == 409
        assert "Your lease on this task expired" in response.text and "Take the next task" in response.text
    with web.session() as session:
        assert session.scalar(select(func.count(LabelRow.id))) == 0


def test_the_labeling_page_shows_a_countdown_and_the_guideline(web: Web) -> None:
    alice = web.login("alice")
    _, page = take(web, alice)
    seconds = int(re.search(r'data-seconds="(\d+)"', page).group(1))
    assert 29 * 60 < seconds <= 30 * 60
    for part in ("HATE.1a", "Definitions", "Examples", 'data-box="targets_group"', "author_followers"):
        assert part in page, part
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets and not [a for a in assets if a.startswith(("http:", "https:", "//"))]  # works offline


class _Shape(HTMLParser):
    """The page's element structure: tags and attribute names, no values or text."""

    def __init__(self) -> None:
        super().__init__()
        self.shape: list[tuple[str, tuple[str, ...]]] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.shape.append((tag, tuple(sorted(name for name, _ in attrs))))


def _shape(html: str) -> list:
    parser = _Shape()
    parser.feed(html)
    return parser.shape


def test_gold_questions_look_like_any_other_task(web: Web) -> None:
    alice = web.login("alice")
    gold_ids = web.gold_task_ids()
    pages = {}
    aid, page = take(web, alice)
    while len(pages) < 2:
        pages.setdefault(web.task_of(aid).id in gold_ids, page)
        response = submit(web, alice, aid, ALLOWED)
        found = TASK_URL.search(response.headers.get("location", ""))
        assert found, "ran out of tasks before seeing a gold and an ordinary one"
        aid = int(found.group(2))
        alice.get(response.headers["location"])  # shows (and so clears) the "Saved" notice
        page = alice.get(response.headers["location"]).text
    gold_page, plain_page = pages[True], pages[False]
    for html in (gold_page, plain_page):
        assert "gold" not in html.lower()
        assert "due" not in re.sub(r"<[^>]+>", " ", html).lower().split()  # SLA age would give gold away
    assert _shape(gold_page) == _shape(plain_page)
    history = alice.get(f"/p/{web.project_id}/mine").text
    assert "gold" not in history.lower()


def test_wellness_mode_is_remembered_and_marks_the_page(web: Web) -> None:
    alice = web.login("alice")
    assert 'class=" wellness"' not in alice.get(f"/p/{web.project_id}").text
    response = post(alice, "/prefs/wellness", {"back": f"/p/{web.project_id}"})
    assert response.status_code == 303 and response.headers["location"] == f"/p/{web.project_id}"
    _, page = take(web, alice)
    assert re.search(r'<body class="labeling wellness">', page)
    assert "Content hidden (wellness mode)" in page


def test_logout_hands_back_the_open_lease(web: Web) -> None:
    alice = web.login("alice")
    aid, _ = take(web, alice)
    assert post(alice, "/logout", {}, page=f"/p/{web.project_id}").status_code == 303
    with web.session() as session:
        assert session.get(Assignment, aid).status == "released"
    assert alice.get(f"/p/{web.project_id}").status_code == 303


# ------------------------------------------------------------------------------ leads


def test_disagreement_adjudication_and_consensus_download(web: Web, tmp_path: Path) -> None:
    alice, bob, lena = web.login("alice"), web.login("bob"), web.login("lena")
    a_aid, _ = take(web, alice)
    b_aid, _ = take(web, bob)
    task_id = web.task_of(a_aid).id
    assert web.task_of(b_aid).id == task_id
    submit(web, alice, a_aid, VIOLATING)
    submit(web, bob, b_aid, ALLOWED)
    disputes = lena.get(f"/p/{web.project_id}/lead/disputes").text
    assert f"/lead/tasks/{task_id}" in disputes
    page = lena.get(f"/p/{web.project_id}/lead/tasks/{task_id}").text
    compare = page[page.index('id="compare"'):page.index("</table>", page.index('id="compare"'))]
    assert "alice" in compare and "bob" in compare and "not asked" in compare and 'class="differs"' in compare
    done = post(lena, f"/p/{web.project_id}/lead/tasks/{task_id}/adjudicate",
                {"verdict": "violating", "rule_id": ["HATE.1a"], "rationale": "A slur aimed at a protected group."})
    assert done.status_code == 303
    assert f"/lead/tasks/{task_id}" not in lena.get(f"/p/{web.project_id}/lead/disputes").text
    with web.session() as session:
        row = session.scalar(select(Adjudication))
        assert (row.verdict, row.rule_ids) == ("violating", ["HATE.1a"])
    download = lena.get(f"/p/{web.project_id}/lead/export")
    assert download.status_code == 200 and "attachment" in download.headers["content-disposition"]
    path = tmp_path / "consensus.parquet"
    path.write_bytes(download.content)
    exported = read_labelled_items(path)
    item_ids = [item.id for item in exported.items]
    assert len(item_ids) == 1 and exported.labels[0].labels == {"hate": "violating"}
    for name in ("lead", "lead/quality"):
        response = lena.get(f"/p/{web.project_id}/{name}")
        assert response.status_code == 200
    quality = lena.get(f"/p/{web.project_id}/lead/quality").text
    assert "Cohen" in quality and "Krippendorff" in quality and "targets_group" in quality


def test_export_with_nothing_resolved_says_so(web: Web) -> None:
    response = web.login("lena").get(f"/p/{web.project_id}/lead/export")
    assert response.status_code == 400 and "no resolved labels to export yet" in response.text


def test_admin_manages_users_and_projects(web: Web) -> None:
    admin = web.login("ada")
    assert post(admin, "/admin/users", {"username": "eve", "password": "another long secret", "role": "reviewer"}).status_code == 303
    with web.session() as session:
        eve = session.scalar(select(User).where(User.username == "eve"))
        ada = session.scalar(select(User).where(User.username == "ada"))
    assert post(admin, f"/admin/users/{eve.id}/role", {"role": "lead"}).status_code == 303
    assert web.login("eve", "another long secret").get(f"/p/{web.project_id}/lead").status_code == 200
    own = post(admin, f"/admin/users/{ada.id}/role", {"role": "reviewer"})
    assert own.status_code == 400 and "your own account" in own.text
    page = admin.get("/admin/projects").text
    assert "web" in page and "hatexplain" in page
    missing = post(admin, "/admin/projects", {"name": "x", "bundle": "/no/such/bundle"})
    assert missing.status_code == 400 and "/no/such/bundle" in missing.text


def test_the_app_works_mounted_under_a_prefix(web: Web) -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from charter.server.review import create_review_app

    parent = FastAPI()
    parent.mount("/review", create_review_app(web.settings))
    client = TestClient(parent, base_url="https://testserver", follow_redirects=False)
    assert client.get(f"/review/p/{web.project_id}").headers["location"] == f"/review/login?next=/review/p/{web.project_id}"
    login = post(client, "/review/login", {"username": "alice", "password": PASSWORD}, page="/review/login")
    assert login.headers["location"] == "/review/"
    page = client.get(f"/review/p/{web.project_id}").text
    assert 'href="/review/static/app.css"' in page and f'action="/review/p/{web.project_id}/next"' in page
    assert client.get("/review/static/label.js").status_code == 200
