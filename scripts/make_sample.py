"""Rebuild the vendored dataset sample in src/charter/datasets/sample/ from ../shared/data.

    .venv/bin/python scripts/make_sample.py [--data-dir ../shared/data]

Only datasets whose licenses allow redistribution are sampled. Within each official (or
documented seeded) split, rows are drawn class-balanced on one raw label column with a fixed
seed, so the sample is identical on every run and item ids match the full data. Every dataset
sampled has a val split (official, seeded, or carved from the official train split), so every
category the demo trains can have its thresholds tuned.
"""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

import pandas as pd

SEED = 13
# dataset -> (columns whose combined value is balanced, rows per split); other splits are skipped.
PLAN: dict[str, tuple[list[str], dict[str, int]]] = {
    "davidson": (["class"], {"train": 400, "val": 50, "test": 200}),
    "hatexplain": (["category"], {"train": 400, "val": 50, "test": 200}),
    "olid": (["subtask_a", "subtask_b", "subtask_c"], {"train": 400, "val": 100, "test": 200}),
    "germeval2018": (["fine"], {"train": 400, "val": 100, "test": 200}),
    "toxic-spans": (["threat"], {"train": 400, "val": 50, "test": 200}),
    "sms-spam": (["label"], {"train": 400, "val": 50, "test": 200}),
}
# dataset -> license files copied next to its CSV (source path under the dataset folder).
LICENSES: dict[str, list[tuple[str, str]]] = {
    "davidson": [("LICENSE", "davidson.LICENSE.txt")],
    "hatexplain": [("LICENSE", "hatexplain.LICENSE.txt"), ("MBIB_LICENSE_GPL3.txt", "hatexplain.MBIB_LICENSE.txt")],
    "germeval2018": [("LICENSE.md", "germeval2018.LICENSE.txt")],
    "toxic-spans": [("LICENSE", "toxic-spans.LICENSE.txt")],
}
OLID_ATTRIBUTION = """OLID v1.0 (Offensive Language Identification Dataset), a sample of which is in olid.csv.

Source: https://scholar.harvard.edu/malmasi/olid (OffensEval 2019, SemEval 2019 Task 6)
Authors: Marcos Zampieri, Shervin Malmasi, Preslav Nakov, Sara Rosenthal, Noura Farra, Ritesh Kumar
License: Creative Commons Attribution 4.0 International (CC BY 4.0),
https://creativecommons.org/licenses/by/4.0/ (full text in germeval2018.LICENSE.txt, same license)
Changes: a class-balanced sample of rows; test rows joined with their level a/b/c gold labels;
the official training set divided into train and a seeded validation split (the official test
set is untouched); columns renamed (see README.md).
Cite: Zampieri et al. Predicting the Type and Target of Offensive Posts in Social Media. NAACL 2019.
"""
SMS_ATTRIBUTION_HEADER = """SMS Spam Collection v.1, a sample of which is in sms-spam.csv.

Source: http://www.dt.fee.unicamp.br/~tiago/smsspamcollection/
Authors: Tiago A. Almeida and José María Gómez Hidalgo.
Cite: Almeida, T.A., Gómez Hidalgo, J.M., Yamakami, A. Contributions to the Study of SMS Spam
Filtering: New Collection and Results. Proceedings of the 2011 ACM Symposium on Document
Engineering (DocEng'11), Mountain View, CA, USA, 2011.
Changes: a class-balanced sample of rows (see README.md).

The collection's own license section, verbatim:

"""


def balanced(frame: pd.DataFrame, columns: list[str], n: int) -> pd.DataFrame:
    """Up to n rows with classes as equal as availability allows (small classes give all)."""
    key = frame[columns].agg("/".join, axis=1)
    groups = {value: frame[key == value] for value in sorted(key.unique())}
    quota = {value: 0 for value in groups}
    left = min(n, len(frame))
    open_classes = sorted(groups)
    while left > 0 and open_classes:
        share = max(1, left // len(open_classes))
        for value in list(open_classes):
            take = min(share, len(groups[value]) - quota[value], left)
            quota[value] += take
            left -= take
            if quota[value] == len(groups[value]):
                open_classes.remove(value)
            if left == 0:
                break
    parts = [groups[v].sample(n=quota[v], random_state=SEED) for v in sorted(groups) if quota[v]]
    return pd.concat(parts).sort_index()


def sms_license(folder: Path) -> str:
    readme = (folder / "readme").read_bytes().decode("latin-1")
    section = readme[readme.index("4. LICENSE/DISCLAIMER") :]
    return SMS_ATTRIBUTION_HEADER + section.strip() + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[1] / ".." / "shared" / "data"))
    args = parser.parse_args()
    os.environ["CHARTER_DATA_DIR"] = str(Path(args.data_dir).resolve())

    from charter.datasets import frames, get_info, load_frame
    from charter.datasets.paths import SAMPLE_DIR

    data_dir = Path(os.environ["CHARTER_DATA_DIR"])
    SAMPLE_DIR.mkdir(parents=True, exist_ok=True)
    for name, (columns, quotas) in PLAN.items():
        info = get_info(name)
        assert info.redistributable, f"{name} may not be redistributed"
        frame, _ = load_frame(name, "shared")
        parts = [balanced(frame[frame["split"] == split], columns, n) for split, n in quotas.items()]
        sample = pd.concat(parts)
        frames.write_sample(sample, info, SAMPLE_DIR / f"{name}.csv")
        counts = sample.groupby(["split", *columns]).size().to_dict()
        print(f"{name}: {len(sample)} rows {counts}")
        for source, target in LICENSES.get(name, []):
            shutil.copyfile(data_dir / name / source, SAMPLE_DIR / target)
    (SAMPLE_DIR / "olid.LICENSE.txt").write_text(OLID_ATTRIBUTION, encoding="utf-8")
    (SAMPLE_DIR / "sms-spam.LICENSE.txt").write_text(sms_license(data_dir / "sms-spam"), encoding="utf-8")


if __name__ == "__main__":
    main()
