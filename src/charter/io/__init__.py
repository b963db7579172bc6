"""Getting records in and out: a user's JSONL/CSV/Parquet files with explicit column mappings."""

from charter.io.items_arrow import items_table
from charter.io.labelled import (
    LabelledItems,
    labels_from_table,
    read_labelled_items,
    write_labelled_items,
)
from charter.io.records_io import (
    items_from_table,
    read_decisions,
    read_items,
    read_labels,
    write_decisions,
    write_items,
    write_labels,
)
from charter.io.tabular import RawTable, read_table

__all__ = [
    "LabelledItems",
    "RawTable",
    "items_from_table",
    "items_table",
    "labels_from_table",
    "read_decisions",
    "read_items",
    "read_labelled_items",
    "read_labels",
    "read_table",
    "write_decisions",
    "write_items",
    "write_labelled_items",
    "write_labels",
]
