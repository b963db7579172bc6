"""Reading a dataset's files with one clear error when a file is missing or unreadable."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pandas as pd

from charter.errors import CharterError


def need(folder: Path, name: str) -> Path:
    path = folder / name
    if not path.is_file():
        raise CharterError(f"dataset file {path} is missing (the folder {folder} exists but lacks {name})")
    return path


def read_csv(folder: Path, name: str, **kwargs: Any) -> pd.DataFrame:
    """A CSV/TSV read as strings (ids keep leading zeros, labels stay exact)."""
    path = need(folder, name)
    kwargs.setdefault("dtype", str)
    kwargs.setdefault("keep_default_na", False)
    kwargs.setdefault("encoding", "utf-8-sig")
    try:
        return pd.read_csv(path, **kwargs)
    except (UnicodeDecodeError, pd.errors.ParserError, ValueError) as exc:
        raise CharterError(f"cannot read dataset file {path}: {exc}") from None


def read_tsv_unquoted(folder: Path, name: str, **kwargs: Any) -> pd.DataFrame:
    """A TSV whose text fields contain bare quote characters (OLID, GermEval, SMS Spam)."""
    return read_csv(folder, name, sep="\t", quoting=csv.QUOTE_NONE, **kwargs)


def read_json(folder: Path, name: str) -> Any:
    path = need(folder, name)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CharterError(f"cannot read dataset file {path}: {exc}") from None
