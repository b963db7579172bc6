"""`charter classifier ...` on the vendored sample: train writes a verified artifact with
mapping versions and named features, score streams item files into decision logs and refuses
another policy's model, evaluate records its numbers in the model card, inspect shows the
card, robustness writes its reports, and bad inputs give one clear error."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from charter.cli.classifier_cmd import app
from charter.cli.main import app as main_app
from charter.engines.classifier import read_card
from charter.store.decision_log import read_decision_log

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "src" / "charter" / "examples" / "policy.yaml"
NEXT_RELEASE = ROOT / "src" / "charter" / "examples" / "policy_v1_1.yaml"
DATASETS = ("davidson", "hatexplain", "olid", "sms-spam")

runner = CliRunner()


def invoke(*args: str, cli=app):
    return runner.invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundle of the example policy and a model trained on the sample (shared data hidden)."""
    root = tmp_path_factory.mktemp("classifier-cli")
    patch = pytest.MonkeyPatch()
    empty = root / "no-shared-data"
    empty.mkdir()
    patch.setenv("CHARTER_DATA_DIR", str(empty))
    assert invoke("compile", EXAMPLE, "-o", root / "bundle", cli=main_app).exit_code == 0
    args = ["train", "--policy", EXAMPLE, "-o", root / "model", "--source", "sample"]
    for name in DATASETS:
        args += ["--dataset", name]
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    (root / "train.out").write_text(result.output)
    yield root
    patch.undo()


def test_train_prints_counts_and_writes_mapping_versions(workdir: Path) -> None:
    output = (workdir / "train.out").read_text()
    card = read_card(workdir / "model")
    assert set(card.label_mappings) == set(DATASETS)
    assert card.categories[:2] == ["hate", "harassment"] and "spam_scams" in card.categories
    for category, counts in card.training_counts.items():
        assert category in output and f"{counts['known']:,}" in output
    spam = card.training_counts["spam_scams"]
    assert (spam["known"], spam["positive"]) == (400, 200)
    features = json.loads((workdir / "model" / "features.json").read_text())
    assert features["weights_sha256"] == card.files["weights.npz"]
    spam_grams = [g for f in features["categories"]["spam_scams"] for g in f["ngrams"]]
    assert any(g.startswith(("word:", "char:")) for g in spam_grams)


def test_inspect_shows_the_card_and_named_features(workdir: Path) -> None:
    result = invoke("inspect", workdir / "model", "--json", "--top", "3")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["policy"]["id"] == "charter-example" and shown["training_data_hash"]
    assert shown["hyperparameters"]["alpha"] == 1e-5
    assert all(len(v) == 3 for v in shown["top_features"].values())
    text = invoke("inspect", workdir / "model")
    assert text.exit_code == 0 and "label mappings: davidson@" in text.output and "top features" in text.output


def test_inspect_without_feature_names_says_hashing_cannot_invert(workdir: Path, tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    bare.mkdir()
    for name in ("model.json", "weights.npz"):
        (bare / name).write_bytes((workdir / "model" / name).read_bytes())
    result = invoke("inspect", bare)
    assert result.exit_code == 0 and "hashed features keep no vocabulary" in result.output


def test_score_a_labelled_items_file_in_streamed_batches(workdir: Path) -> None:
    gold = workdir / "olid_test.parquet"
    assert invoke("datasets", "import", "olid", "--split", "test", "--source", "sample", "-o", gold, cli=main_app).exit_code == 0
    one = invoke("score", workdir / "model", gold, "--bundle", workdir / "bundle", "-o", workdir / "one.parquet")
    many = invoke("score", workdir / "model", gold, "--bundle", workdir / "bundle", "-o", workdir / "many.parquet", "--batch-size", "37")
    assert one.exit_code == 0 and many.exit_code == 0, one.output + many.output
    assert "200 decisions" in one.output
    whole, streamed = read_decision_log(workdir / "one.parquet"), read_decision_log(workdir / "many.parquet")
    assert [d.item_id for d in whole] == [d.item_id for d in streamed] == pq.read_table(gold).column("id").to_pylist()
    assert [d.scores for d in whole] == [d.scores for d in streamed]
    assert {d.pathway for d in whole} == {"classifier"} and whole[0].policy_id == "charter-example"
    assert pq.ParquetFile(workdir / "many.parquet").metadata.num_row_groups == 6


def test_score_a_csv_with_column_mappings(workdir: Path, tmp_path: Path) -> None:
    items = tmp_path / "items.csv"
    items.write_text("msg_id,body,market\na1,WINNER!! Claim your free prize now: call 0800 123,DE\na2,see you at lunch,\n")
    out = tmp_path / "log.parquet"
    result = invoke("score", workdir / "model", items, "--bundle", workdir / "bundle", "-o", out, "--map", "id=msg_id", "--map", "text=body")
    assert result.exit_code == 0, result.output
    first, second = read_decision_log(out)
    assert (first.item_id, second.item_id) == ("a1", "a2")
    assert first.scores["spam_scams"] > second.scores["spam_scams"]


def test_a_model_for_another_policy_is_refused_unless_allowed(workdir: Path, tmp_path: Path) -> None:
    assert invoke("compile", NEXT_RELEASE, "-o", tmp_path / "next", cli=main_app).exit_code == 0
    gold = tmp_path / "gold.parquet"
    invoke("datasets", "import", "sms-spam", "--split", "test", "--source", "sample", "-o", gold, cli=main_app)
    refused = invoke("score", workdir / "model", gold, "--bundle", tmp_path / "next", "-o", tmp_path / "log.parquet")
    assert refused.exit_code == 2 and "--allow-policy-mismatch" in refused.output
    assert not (tmp_path / "log.parquet").exists()
    allowed = invoke("score", workdir / "model", gold, "--bundle", tmp_path / "next", "-o", tmp_path / "log.parquet", "--allow-policy-mismatch")
    assert allowed.exit_code == 0 and "warning" in allowed.output
    assert read_decision_log(tmp_path / "log.parquet")[0].policy_version == "1.1.0"


def test_evaluate_writes_the_report_and_records_numbers_in_the_card(workdir: Path) -> None:
    out = workdir / "eval"
    result = invoke("evaluate", workdir / "model", "--bundle", workdir / "bundle", "--dataset", "sms-spam:test",
                    "--dataset", "olid", "--source", "sample", "-o", out, "--n-boot", "100")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (out / "report.html").is_file() and (out / "decisions.parquet").is_file()
    report = json.loads((out / "report.json").read_text())
    evaluation = read_card(workdir / "model").evaluation
    assert evaluation["datasets"] == ["sms-spam:test", "olid"] and evaluation["n_items"] == report["n_items"] == 400
    spam = evaluation["categories"]["spam_scams"]
    assert spam["f1"] == pytest.approx(report["summary"]["categories"]["spam_scams"]["f1"]) and spam["f1"] > 0.8
    assert len(spam["intervals"]["f1"]) == 2
    assert "evaluation" in invoke("inspect", workdir / "model").output


def test_robustness_writes_json_and_an_offline_html_table(workdir: Path) -> None:
    out = workdir / "robustness"
    result = invoke("robustness", workdir / "model", "--bundle", workdir / "bundle", "--dataset", "sms-spam:test",
                    "--source", "sample", "-o", out, "-t", "leet", "-t", "combined", "--seed", "3")  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert report["transformations"] == ["leet", "combined"] and report["violating"] == {"spam_scams": 77}
    assert len(report["rows"]) == 2 * 2
    html = (out / "report.html").read_text()
    assert "spam_scams" in html and "combined" in html and "http" not in html.replace("report.json", "")


@pytest.mark.parametrize(
    ("content", "suffix", "message"),
    [
        (b'{"id": "a", "text": null}\n', ".jsonl", "text is missing"),
        (b"id,text\na,caf\xe9\n", ".csv", "invalid UTF-8"),
        (b"id,text\n", ".csv", "no rows"),
        (b"id,body\na,hello\n", ".csv", "required field(s) text"),
    ],
)
def test_bad_item_files_give_one_clear_error(workdir: Path, tmp_path: Path, content: bytes, suffix: str, message: str) -> None:
    items = tmp_path / f"items{suffix}"
    items.write_bytes(content)
    result = invoke("score", workdir / "model", items, "--bundle", workdir / "bundle", "-o", tmp_path / "log.parquet")
    assert result.exit_code == 2 and message in result.output, result.output
    assert not (tmp_path / "log.parquet").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--dataset", "olid", "--category", "not_a_category"], "not a category of policy"),
        (["--dataset", "sms-spam", "--category", "hate"], "none of the datasets' label mappings covers it"),
        (["--dataset", "nope"], "unknown dataset 'nope'"),
        (["--dataset", "olid:validation"], "has no split 'validation'"),
        (["--dataset", "olid", "--alpha", "-1"], "invalid --alpha"),
    ],
)
def test_bad_training_requests_give_one_clear_error(workdir: Path, tmp_path: Path, args: list[str], message: str) -> None:
    result = invoke("train", "--policy", EXAMPLE, "-o", tmp_path / "m", "--source", "sample", *args)
    assert result.exit_code == 2 and message in result.output, result.output


def test_a_directory_that_is_no_model_is_refused(workdir: Path, tmp_path: Path) -> None:
    result = invoke("inspect", tmp_path)
    assert result.exit_code == 2 and "model.json is missing" in result.output
