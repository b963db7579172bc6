"""`charter datasets ...`: list, inspect and import moderation datasets and a user's own files.

Imports write a labelled-items Parquet file (items plus gold labels under a policy) that the
evaluation commands read.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich import box
from rich.table import Table

import charter.examples
from charter.cli.common import console, user_errors
from charter.datasets import (
    apply_mapping,
    availability,
    dataset_names,
    get_info,
    load_mapping,
    load_split,
)
from charter.datasets.apply import GOLD_PATHWAY
from charter.datasets.load import SourceChoice
from charter.errors import CharterError
from charter.io import items_from_table, labels_from_table, read_table, write_labelled_items
from charter.policy.hashing import policy_hash
from charter.policy.load import load_policy
from charter.policy.spec import Policy
from charter.records import ContentItem, Label

app = typer.Typer(help="List, inspect and import moderation datasets.", no_args_is_help=True)

EXAMPLE_POLICY = Path(charter.examples.__file__).parent / "policy.yaml"
SAMPLE_SEED = 13
TEXT_WIDTH = 100

PolicyOption = typer.Option(
    EXAMPLE_POLICY, "--policy", help="Policy the gold labels are for (default: the example policy)."
)
SourceOption = typer.Option("auto", "--source", help="auto (shared data, else the vendored sample), shared or sample.")


def _source(value: str) -> SourceChoice:
    if value not in ("auto", "shared", "sample"):
        raise CharterError(f"--source must be auto, shared or sample, not {value!r}")
    return value  # type: ignore[return-value]


def _mapping_for(name: str, mapping: Path | None, policy: Policy):
    """The mapping given, else the dataset's shipped one, else None (no gold labels)."""
    if mapping is not None:
        return load_mapping(mapping, policy)
    info = get_info(name)
    return load_mapping(info.mapping, policy) if info.mapping else None


@app.command("list")
@user_errors
def list_datasets(as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
    """Every known dataset: languages, rows, splits, license, and where it would load from."""
    rows = []
    for name in dataset_names():
        info = get_info(name)
        rows.append(
            {
                "name": name,
                "languages": list(info.languages),
                "rows": info.rows,
                "splits": {split: s.rows for split, s in info.splits.items()},
                "published_splits": info.published_splits,
                "carved_splits": info.carved,
                "license": info.license,
                "available": availability(name),
                "mapping": info.mapping,
            }
        )
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=True)
    table.add_column("name", overflow="fold", ratio=5)
    table.add_column("langs", overflow="fold", ratio=2)
    table.add_column("rows", justify="right", no_wrap=True, min_width=7)
    table.add_column("splits", overflow="fold", ratio=4)
    table.add_column("license", overflow="fold", ratio=4, min_width=13)
    table.add_column("available", no_wrap=True, min_width=9)
    styles = {"shared": "green", "sample": "yellow", "missing": "red"}
    for row in rows:
        table.add_row(
            row["name"],
            ",".join(row["languages"]),
            f"{row['rows']:,}",
            " ".join(f"{split}*" if split in row["carved_splits"] else split for split in row["splits"]),
            row["license"],
            f"[{styles[row['available']]}]{row['available']}[/]",
        )
    console.print(table)
    console.print("available: shared = ../shared/data or $CHARTER_DATA_DIR; sample = vendored sample only", style="dim")
    console.print("val*: a seeded validation split carved from the official train split (the official test "
                  "split is untouched); `charter datasets show NAME` gives the method", style="dim")


@app.command("show")
@user_errors
def show(
    name: str = typer.Argument(..., help="Dataset name (see `charter datasets list`)."),
    split: str = typer.Option("test", "--split", help="Split to show, or `all`."),
    n: int = typer.Option(5, "--n", min=0, help="Sample rows to print."),
    mapping: Path | None = typer.Option(None, "--mapping", help="Label mapping YAML (default: the shipped one)."),
    policy_path: Path = PolicyOption,
    source: str = SourceOption,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """Counts per raw label, gold verdicts per mapped category, and a few sample rows."""
    info = get_info(name)
    data = load_split(name, split, _source(source))
    policy = load_policy(policy_path)
    label_map = _mapping_for(name, mapping, policy)
    mapped = apply_mapping(data, label_map, policy) if label_map else None
    raw_counts = {}
    for column, spec in info.label_columns.items():
        values = data.raw_labels[column]
        if spec.multi:
            values = values.str.split(spec.separator, regex=False).explode()
        raw_counts[column] = {str(k): int(v) for k, v in values.value_counts().sort_index().items()}
    verdicts = mapped.counts().to_dict("index") if mapped else {}
    rows = data.frame.sample(n=min(n, len(data)), random_state=SAMPLE_SEED) if n else data.frame.iloc[:0]
    samples = [{"id": r["id"], **{c: r[c] for c in info.label_columns}, "text": r["text"]} for _, r in rows.iterrows()]
    if as_json:
        payload = {
            "dataset": name, "split": data.split, "source": data.source, "rows": len(data),
            "languages": sorted(data.languages), "raw_labels": raw_counts,
            "mapping": label_map.ref if label_map else None, "verdicts": verdicts, "samples": samples,
        }  # fmt: skip
        typer.echo(json.dumps(payload, indent=2, ensure_ascii=False))
        return
    console.print(f"[bold]{info.title}[/] ({name})", highlight=False)
    console.print(
        f"split [bold]{data.split}[/]: {len(data):,} items from the {data.source} copy · "
        f"languages {', '.join(sorted(data.languages))} · license {info.license_note or info.license}",
        highlight=False,
    )
    console.print(f"splits: {info.split_method}", style="dim", highlight=False)
    labels = Table(
        "column", "value", "items", box=box.SIMPLE_HEAD, show_edge=False, title="raw labels", title_justify="left"
    )
    for column, counts in raw_counts.items():
        for i, (value, count) in enumerate(counts.items()):
            labels.add_row(column if i == 0 else "", value, f"{count:,}")
    console.print(labels)
    if mapped:
        table = Table("category", "violating", "allowed", "unknown", box=box.SIMPLE_HEAD, show_edge=False,
                      title=f"gold verdicts (mapping {label_map.ref} → policy {policy.id})", title_justify="left")  # fmt: skip
        for category, counts in verdicts.items():
            table.add_row(category, f"{counts['violating']:,}", f"{counts['allowed']:,}", f"{counts['unknown']:,}")
        console.print(table)
    else:
        console.print(info.mapping_note or "no label mapping", style="yellow", highlight=False)
    if samples:
        table = Table(
            "id",
            *info.label_columns,
            "text",
            box=box.SIMPLE_HEAD,
            show_edge=False,
            title="sample rows",
            title_justify="left",
        )
        for sample in samples:
            text = sample["text"].replace("\n", " ")
            text = text if len(text) <= TEXT_WIDTH else text[: TEXT_WIDTH - 1] + "…"
            table.add_row(sample["id"], *(sample[c] for c in info.label_columns), text)
        console.print(table)


@app.command("import")
@user_errors
def import_dataset(
    name: str = typer.Argument(..., help="Dataset name."),
    split: str = typer.Option(..., "--split", help="Split to import (train, val, test, ... or all)."),
    out: Path = typer.Option(..., "-o", "--out", help="Output Parquet file (items + gold labels)."),
    mapping: Path | None = typer.Option(None, "--mapping", help="Label mapping YAML (default: the shipped one)."),
    policy_path: Path = PolicyOption,
    source: str = SourceOption,
) -> None:
    """Write a split's items and gold labels to a labelled-items Parquet file."""
    data = load_split(name, split, _source(source))
    policy = load_policy(policy_path)
    label_map = _mapping_for(name, mapping, policy)
    if label_map is None:
        mapped_labels, categories, ref = _unlabelled(data.items, policy, name), [], None
        console.print(
            f"note: {get_info(name).mapping_note}; writing items without gold labels", style="yellow", highlight=False
        )
    else:
        mapped = apply_mapping(data, label_map, policy)
        mapped_labels, categories, ref = mapped.labels, label_map.categories, label_map.ref
    write_labelled_items(
        out, data.items, mapped_labels, categories,
        dataset=name, split=data.split, source=data.source, mapping=ref, mapping_file=label_map.file if label_map else None,
        caveats={c: rule.caveats for c, rule in label_map.rules.items() if rule.caveats} if label_map else {},
    )  # fmt: skip
    console.print(f"wrote {len(data.items):,} items of {name}/{data.split} ({data.source}) with gold labels for "
                  f"{', '.join(categories) or 'no category'} to {out}", highlight=False)  # fmt: skip


def _unlabelled(items: list[ContentItem], policy: Policy, source: str) -> list[Label]:
    stamp = _stamp(policy, f"dataset:{source}", "none")
    return [Label(item_id=item.id, **stamp) for item in items]


def _stamp(policy: Policy, annotator: str, model_version: str) -> dict:
    return {
        "pathway": GOLD_PATHWAY,
        "policy_id": policy.id,
        "policy_version": policy.version,
        "policy_hash": policy_hash(policy),
        "annotator_id": annotator,
        "model_version": model_version,
    }


def _parse_maps(entries: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """--map field=column entries, split into item fields and `labels.<category>` columns."""
    fields, labels = {}, {}
    for entry in entries:
        field, sep, column = entry.partition("=")
        if not sep or not field.strip() or not column:
            raise CharterError(f"--map {entry!r}: write FIELD=COLUMN, e.g. --map id=tweet_id")
        field = field.strip()
        if field.startswith("labels."):
            labels[field.removeprefix("labels.")] = column
        else:
            fields[field] = column
    return fields, labels


@app.command("import-file")
@user_errors
def import_file(
    file: Path = typer.Argument(..., help="Your JSONL, CSV, TSV or Parquet file."),
    out: Path = typer.Option(..., "-o", "--out", help="Output Parquet file (items + gold labels)."),
    maps: list[str] = typer.Option([], "--map", help="FIELD=COLUMN, e.g. id=tweet_id, text=body, labels.hate=is_hate."),
    file_format: str | None = typer.Option(
        None, "--format", help="jsonl, csv, tsv or parquet (default: from the suffix)."
    ),
    replace_invalid: bool = typer.Option(
        False, "--replace-invalid", help="Replace invalid UTF-8 bytes with U+FFFD instead of failing."
    ),
    drop_unmapped: bool = typer.Option(
        False, "--drop-unmapped", help="Drop columns that map to no field (default: keep them as item metadata)."
    ),
    policy_path: Path = PolicyOption,
) -> None:
    """Import your own items (and optional gold labels, `--map labels.<category>=COLUMN`)."""
    fields, label_columns = _parse_maps(maps)
    policy = load_policy(policy_path)
    unknown = [c for c in label_columns if c not in policy.category_ids()]
    if unknown:
        raise CharterError(f"--map labels.{unknown[0]}: {unknown[0]!r} is not a category of policy {policy.id!r} "
                           f"(categories: {', '.join(policy.category_ids())})")  # fmt: skip
    table = read_table(file, file_format, "replace" if replace_invalid else "strict")
    items = items_from_table(
        table, fields, unmapped="ignore" if drop_unmapped else "keep", exclude=list(label_columns.values())
    )
    labels = labels_from_table(table, label_columns, items, **_stamp(policy, f"file:{file.name}", "import-file"))
    write_labelled_items(out, items, labels, list(label_columns), source_file=str(file), column_map=fields)
    console.print(f"wrote {len(items):,} items from {file} with gold labels for "
                  f"{', '.join(label_columns) or 'no category'} to {out}", highlight=False)  # fmt: skip
