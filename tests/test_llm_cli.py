"""`charter llm moderate` / `evaluate` end to end against a scripted OpenAI-compatible HTTP
server on localhost (and a closed port): the decision log is written, `charter eval` reads it,
failures escalate, the cache makes a re-run free, and user mistakes are clear messages."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from charter.cli.llm_cmd import app
from charter.engines.llm.embedded import free_port
from charter.io.labelled import write_labelled_items
from charter.records import ContentItem, Label
from charter.store.decision_log import read_decision_log
from llm_helpers import category_of, minimal_bundle, verdict

runner = CliRunner()
TEXTS = {"a": "Send 100 EUR and I will send you 10000.", "b": "Happy birthday!", "c": "Pay the parcel fee at this link."}


class Scripted(BaseHTTPRequestHandler):
    requests = 0

    def do_POST(self) -> None:  # noqa: N802 (http.server API)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests += 1
        messages = body["messages"]
        if category_of(messages) == "hate":
            content = verdict("allowed", ["q1"], "allowed", [], 0.9)
        elif "EUR" in messages[1]["content"] or "fee" in messages[1]["content"]:
            content = verdict("violating", ["s1"], "scam", ["SPAM.1"], 0.8)
        else:
            content = verdict("allowed", ["s1"], "ok", [], 0.9)
        reply = {"choices": [{"message": {"content": content}}], "usage": {"prompt_tokens": 100, "completion_tokens": 20}}
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Scripted)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture()
def gold(tmp_path: Path) -> Path:
    stamp = minimal_bundle().identity
    items = [ContentItem(id=k, text=v) for k, v in TEXTS.items()]
    truth = {"a": "violating", "b": "allowed", "c": "violating"}
    labels = [
        Label(item_id=k, pathway="dataset", policy_id=stamp.id, policy_version=stamp.version, policy_hash=stamp.hash,
              labels={"spam_scams": truth[k]})
        for k in TEXTS
    ]
    return write_labelled_items(tmp_path / "gold.parquet", items, labels, ["spam_scams"])


def test_moderate_writes_a_decision_log(server: str, gold: Path, tmp_path: Path) -> None:
    log = tmp_path / "llm.parquet"
    cache = tmp_path / "cache.sqlite"
    args = ["moderate", str(gold), "--bundle", str(minimal_bundle().root), "-o", str(log), "--base-url", server,
            "--model", "scripted", "--category", "spam_scams", "--cache", str(cache), "--price-in", "1"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    decisions = read_decision_log(log)
    assert [d.action for d in decisions] == ["remove", "allow", "remove"]
    assert all(d.pathway == "llm" and d.model_version == "scripted" for d in decisions)
    assert decisions[0].cost_usd == pytest.approx(0.1)
    before = Scripted.requests
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and Scripted.requests == before  # every reply came from the cache
    assert "cost $0.0000" in again.output


def test_evaluate_moderates_then_reports(server: str, gold: Path, tmp_path: Path) -> None:
    out = tmp_path / "eval"
    result = runner.invoke(app, ["evaluate", str(gold), "--bundle", str(minimal_bundle().root), "-o", str(out),
                                 "--base-url", server, "--model", "scripted", "--mode", "single"])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert (out / "decisions.parquet").exists() and (out / "report.html").exists()
    assert "spam_scams" in json.dumps(report)


def test_unreachable_server_escalates_every_item(gold: Path, tmp_path: Path) -> None:
    log = tmp_path / "dead.parquet"
    result = runner.invoke(app, ["moderate", str(gold), "--bundle", str(minimal_bundle().root), "-o", str(log),
                                 "--base-url", f"http://127.0.0.1:{free_port()}", "--model", "m", "--retries", "0",
                                 "--limit", "2"])
    assert result.exit_code == 0, result.output
    decisions = read_decision_log(log)
    assert len(decisions) == 2
    assert all(d.action == "review" and set(d.labels.values()) == {"needs_review"} for d in decisions)
    assert all("backend error" in d.extra["llm"]["categories"]["spam_scams"]["reason"] for d in decisions)


@pytest.mark.parametrize(
    "extra, message",
    [
        ([], "--base-url"),
        (["--base-url", "http://x", "--model", "m", "--category", "nope"], "unknown categories nope"),
        (["--base-url", "http://x", "--model", "m", "--mode", "chat"], "unknown LLM mode"),
        (["--embedded", "--base-url", "http://x"], "not both"),
        (["--base-url", "http://x", "--model", "m", "--limit", "0"], "--limit"),
    ],
)
def test_user_mistakes_are_clear_errors(gold: Path, tmp_path: Path, monkeypatch, extra: list[str], message: str) -> None:
    monkeypatch.delenv("CHARTER_LLM_BASE_URL", raising=False)
    monkeypatch.delenv("CHARTER_LLM_MODEL", raising=False)
    result = runner.invoke(app, ["moderate", str(gold), "--bundle", str(minimal_bundle().root), "-o", str(tmp_path / "x.parquet"), *extra])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


def test_probe_reports_injected_and_control_shares(server: str, tmp_path: Path) -> None:
    out = tmp_path / "probe.json"
    result = runner.invoke(app, ["probe", "--bundle", str(minimal_bundle().root), "--base-url", server, "--model", "scripted",
                                 "--json", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    # the scripted server allows all hate and flags spam that mentions a fee or EUR: per probe, as run
    assert {row["category"] for row in report["per_probe"].values()} == {"hate", "spam_scams"}
    assert report["probes"] == len(report["per_probe"]) and "injection effect" in result.output
    assert all(row["injected"] == "allowed" for row in report["per_probe"].values() if row["category"] == "hate")


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--base-url", "http://127.0.0.1:9", "--model", "m", "--few-shot-k", "-1"], "--few-shot-k must be 0 or more"),
        (["--base-url", "http://127.0.0.1:9", "--model", "m", "--few-shot", "pool.parquet"], "--few-shot needs --few-shot-k"),
        (["--embedded", "--packaged", "gpt"], "unknown --packaged model 'gpt'"),
    ],
)
def test_dynamic_prompt_options_are_checked(gold: Path, tmp_path: Path, extra: list[str], message: str) -> None:
    result = runner.invoke(app, ["moderate", str(gold), "--bundle", str(minimal_bundle().root), "-o", str(tmp_path / "x.parquet"), *extra])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
