"""`charter classifier ...` on the vendored sample: train writes a verified artifact with
mapping versions and named features, score streams item files into decision logs and refuses
another policy's model, evaluate records its numbers in the model card, inspect shows the
card, robustness writes its reports, and bad inputs give one clear error."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
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
    decisions = read_decision_log(tmp_path / "log.parquet")
    assert decisions[0].policy_version == "1.1.0"
    assert all("charter-example@1.0.0" in d.extra["policy_mismatch"] for d in decisions)  # no log hides it


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


def _bad_utf8_parquet(path: Path) -> Path:
    """Two items, the second's text not UTF-8 (Arrow writes what it is given)."""
    offsets = np.array([0, 5, 9], dtype=np.int32)
    text = pa.Array.from_buffers(pa.string(), 2, [None, pa.py_buffer(offsets.tobytes()), pa.py_buffer(b"hellocaf\xe9")])
    pq.write_table(pa.table({"id": ["a", "b"], "text": text}), path)
    return path


@pytest.mark.parametrize("command", ["score", "batch"])
def test_invalid_utf8_in_parquet_is_refused_or_replaced(workdir: Path, tmp_path: Path, command: str) -> None:
    items = _bad_utf8_parquet(tmp_path / "items.parquet")
    out = tmp_path / "log.parquet"
    refused = invoke(command, workdir / "model", items, "--bundle", workdir / "bundle", "-o", out)
    assert refused.exit_code == 2 and "invalid UTF-8 (byte 0xe9 at byte offset 3)" in refused.output, refused.output
    assert ("row 2" if command == "score" else "item 'b'") in refused.output and not out.exists()
    replaced = invoke(command, workdir / "model", items, "--bundle", workdir / "bundle", "-o", out, "--replace-invalid")
    assert replaced.exit_code == 0, replaced.output
    assert [d.item_id for d in read_decision_log(out)] == ["a", "b"]


def test_batch_scores_a_parquet_dataset_like_score(workdir: Path, tmp_path: Path) -> None:
    gold = tmp_path / "sms.parquet"
    assert invoke("datasets", "import", "sms-spam", "--split", "test", "--source", "sample", "-o", gold, cli=main_app).exit_code == 0
    items = tmp_path / "items.parquet"
    pq.write_table(pq.read_table(gold, columns=["id", "text", "market"]), items, row_group_size=40)
    streamed = invoke("score", workdir / "model", items, "--bundle", workdir / "bundle", "-o", tmp_path / "score.parquet")
    pooled = invoke("batch", workdir / "model", items, "--bundle", workdir / "bundle", "-o", tmp_path / "batch.parquet",
                    "--engine", "processes", "--workers", "2")  # fmt: skip
    assert streamed.exit_code == 0 and pooled.exit_code == 0, streamed.output + pooled.output
    assert "(processes)" in pooled.output
    one, other = read_decision_log(tmp_path / "score.parquet"), read_decision_log(tmp_path / "batch.parquet")
    assert [(d.item_id, d.action, d.labels) for d in one] == [(d.item_id, d.action, d.labels) for d in other]
    assert max(abs(a.scores[c] - b.scores[c]) for a, b in zip(one, other) for c in a.scores) < 1e-9
    bad = invoke("batch", workdir / "model", items, "--bundle", workdir / "bundle", "-o", tmp_path / "x.parquet", "--engine", "spark")
    assert bad.exit_code == 2 and "--engine must be one of inprocess, processes, ray" in bad.output


def _labelled_copy(source: Path, target: Path, *, add_category: str | None = None, **stamp: str) -> Path:
    """A labelled-items file with an extra label column or another policy stamp, as another team's file would have."""
    table = pq.read_table(source)
    key = next(iter(table.schema.metadata))
    meta = json.loads(table.schema.metadata[key])
    if add_category:
        meta["categories"].append(add_category)
        table = table.append_column(f"label_{add_category}", pa.array(["violating"] * table.num_rows))
    meta["stamp"].update(stamp)
    pq.write_table(table.replace_schema_metadata({key: json.dumps(meta).encode()}), target)
    return target


def test_labelled_files_train_and_evaluate_and_are_checked_against_the_policy(workdir: Path, tmp_path: Path) -> None:
    gold = tmp_path / "sms.parquet"
    assert invoke("datasets", "import", "sms-spam", "--split", "all", "--source", "sample", "-o", gold, cli=main_app).exit_code == 0
    trained = invoke("train", "--policy", EXAMPLE, "-o", tmp_path / "m", "--labelled", gold)
    assert trained.exit_code == 0, trained.output
    assert read_card(tmp_path / "m").label_mappings["sms-spam"].startswith("sha256:")
    evaluated = invoke("evaluate", tmp_path / "m", "--bundle", workdir / "bundle", "--labelled", gold, "-o", tmp_path / "ev", "--n-boot", "50")
    assert evaluated.exit_code == 0, evaluated.output
    unknown = _labelled_copy(gold, tmp_path / "unknown.parquet", add_category="bullying")
    other = _labelled_copy(gold, tmp_path / "other.parquet", policy_id="another-policy")
    old = _labelled_copy(gold, tmp_path / "old.parquet", policy_hash="0" * 64, policy_version="0.9.0")
    for command in (["train", "--policy", EXAMPLE, "-o", tmp_path / "x"], ["evaluate", tmp_path / "m", "--bundle", workdir / "bundle", "-o", tmp_path / "y"]):
        result = invoke(*command, "--labelled", unknown)
        assert result.exit_code == 2 and "gold labels for 'bullying', which policy charter-example does not have" in result.output
        result = invoke(*command, "--labelled", other)
        assert result.exit_code == 2 and "labels were made under policy 'another-policy'" in result.output
    warned = invoke("train", "--policy", EXAMPLE, "-o", tmp_path / "z", "--labelled", old)
    assert warned.exit_code == 0 and "warning" in warned.output and "0.9.0" in warned.output
    nothing = invoke("train", "--policy", EXAMPLE, "-o", tmp_path / "w")
    assert nothing.exit_code == 2 and "give at least one --dataset NAME[:SPLIT] or --labelled FILE" in nothing.output


def test_an_embedding_model_trains_scores_evaluates_and_inspects_through_the_cli(workdir: Path, tmp_path: Path) -> None:
    pytest.importorskip("model2vec", reason="model2vec is not installed (optional embeddings extra)")
    from charter.engines.classifier.embedders import WEIGHTS_FILE, model2vec_dir

    if not (model2vec_dir() / WEIGHTS_FILE).is_file():
        pytest.skip(f"no distilled model2vec model in {model2vec_dir()}; run `charter classifier distill-model2vec` once")
    model = tmp_path / "m2v"
    trained = invoke("train", "--policy", EXAMPLE, "-o", model, "--source", "sample", "--dataset", "sms-spam", "--kind", "model2vec")
    assert trained.exit_code == 0, trained.output
    shown = invoke("inspect", model)
    assert shown.exit_code == 0 and "embedder: model2vec" in shown.output and "stacked on fast model" in shown.output
    gold = tmp_path / "sms.parquet"
    invoke("datasets", "import", "sms-spam", "--split", "test", "--source", "sample", "-o", gold, cli=main_app)
    scored = invoke("score", model, gold, "--bundle", workdir / "bundle", "-o", tmp_path / "log.parquet")
    assert scored.exit_code == 0 and "embedding-model2vec-" in scored.output, scored.output
    evaluated = invoke("evaluate", model, "--bundle", workdir / "bundle", "--dataset", "sms-spam:test", "--source", "sample",
                       "-o", tmp_path / "ev", "--n-boot", "50")  # fmt: skip
    assert evaluated.exit_code == 0, evaluated.output
    assert json.loads((model / "model.json").read_text())["evaluation"]["categories"]["spam_scams"]["f1"] > 0.8
    bad = invoke("train", "--policy", EXAMPLE, "-o", tmp_path / "x", "--source", "sample", "--dataset", "sms-spam", "--kind", "bert")
    assert bad.exit_code == 2 and "--kind must be one of fast, minilm, model2vec" in bad.output
