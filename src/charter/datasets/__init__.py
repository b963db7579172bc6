"""Real moderation datasets: registry, loaders, label mappings onto a policy, and the sample.

from charter.datasets import load_split, load_mapping, apply_mapping
split = load_split("olid", "test")                 # ../shared/data, else the vendored sample
mapped = apply_mapping(split, load_mapping("olid", policy), policy)
mapped.labels                                      # gold Labels (pathway "dataset")
"""

from charter.datasets.apply import MappedSplit, apply_mapping, gold_arrays, verdict_frame
from charter.datasets.core import DatasetInfo, DatasetSplit, LabelColumn, SplitInfo
from charter.datasets.load import availability, load_frame, load_split
from charter.datasets.mapping import LabelMapping, check_mapping, load_mapping, parse_mapping_text, shipped_mappings
from charter.datasets.registry import dataset_names, get_info

__all__ = [
    "DatasetInfo",
    "DatasetSplit",
    "LabelColumn",
    "LabelMapping",
    "MappedSplit",
    "SplitInfo",
    "apply_mapping",
    "availability",
    "check_mapping",
    "dataset_names",
    "get_info",
    "gold_arrays",
    "load_frame",
    "load_mapping",
    "load_split",
    "parse_mapping_text",
    "shipped_mappings",
    "verdict_frame",
]
