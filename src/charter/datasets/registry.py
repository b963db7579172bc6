"""Every dataset Charter knows, by name (the name is its folder in ../shared/data)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from charter.datasets.core import DatasetInfo
from charter.datasets.loaders import (
    cold_chinese,
    cyberbullying_tweets,
    davidson,
    dices,
    germeval2018,
    hatexplain,
    jigsaw_bias_madlibs,
    mlma,
    olid,
    sdcnl_suicide_vs_depression,
    sms_spam,
    toxic_spans,
    tweepfake,
    twitter_suicidal_intention,
)
from charter.errors import CharterError


@dataclass(frozen=True)
class Entry:
    info: DatasetInfo
    read: Callable[[Path], pd.DataFrame]


_MODULES = (
    davidson,
    hatexplain,
    olid,
    jigsaw_bias_madlibs,
    toxic_spans,
    mlma,
    germeval2018,
    cold_chinese,
    sms_spam,
    dices,
    twitter_suicidal_intention,
    sdcnl_suicide_vs_depression,
    tweepfake,
    cyberbullying_tweets,
)
REGISTRY: dict[str, Entry] = {m.INFO.name: Entry(m.INFO, m.read) for m in _MODULES}


def dataset_names() -> list[str]:
    return list(REGISTRY)


def get_info(name: str) -> DatasetInfo:
    return entry(name).info


def entry(name: str) -> Entry:
    if name not in REGISTRY:
        raise CharterError(f"unknown dataset {name!r}; known datasets: {', '.join(REGISTRY)}")
    return REGISTRY[name]
