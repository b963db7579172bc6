"""Plots rendered by matplotlib to inline SVG strings, so reports need no CDN or files."""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PALETTE = ["#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563"]


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]  # drop the XML prolog so it can sit inside HTML


def _axes(title: str, xlabel: str, ylabel: str, size=(4.2, 3.4)):
    plt.rcParams.update({"font.size": 9, "svg.fonttype": "none", "font.family": "sans-serif"})
    fig, ax = plt.subplots(figsize=size)
    ax.set_title(title, fontsize=10, loc="left")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, color="#e5e7eb", linewidth=0.6)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig, ax


def curve_plot(
    series: dict[str, tuple[Sequence[float], Sequence[float]]],
    title: str,
    xlabel: str,
    ylabel: str,
    diagonal: bool = False,
    markers: dict[str, tuple[float, float, str]] | None = None,
) -> str:
    """Line plot of several named (x, y) curves, e.g. PR or ROC curves per category; a marker
    (x, y, text) keyed by a series name is drawn in that series' colour."""
    fig, ax = _axes(title, xlabel, ylabel)
    colors = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(series)}
    for name, (xs, ys) in series.items():
        ax.plot(list(xs), list(ys), label=name, color=colors[name], linewidth=1.6)
    for i, (name, (x, y, text)) in enumerate((markers or {}).items()):
        color = colors.get(name, PALETTE[i % len(PALETTE)])
        ax.scatter([x], [y], color=color, edgecolors="#111827", linewidths=0.6, s=30, zorder=3)
        ax.annotate(text, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7, color=color)
    if diagonal:
        ax.plot([0, 1], [0, 1], linestyle="--", color="#9ca3af", linewidth=1)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    if series:
        ax.legend(fontsize=7, frameon=False, loc="best")
    return _svg(fig)


def reliability_plot(bins: dict[str, tuple[Sequence[float], Sequence[float], Sequence[int]]], title: str) -> str:
    """Reliability diagram: mean predicted score vs observed frequency per bin, per category."""
    fig, ax = _axes(title, "mean predicted score", "observed frequency")
    ax.plot([0, 1], [0, 1], linestyle="--", color="#9ca3af", linewidth=1, label="perfect calibration")
    for i, (name, (pred, obs, counts)) in enumerate(bins.items()):
        sizes = [max(8.0, min(80.0, c ** 0.5 * 2)) for c in counts]
        ax.plot(list(pred), list(obs), color=PALETTE[i % len(PALETTE)], linewidth=1.2, label=name)
        ax.scatter(list(pred), list(obs), s=sizes, color=PALETTE[i % len(PALETTE)], alpha=0.7)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=7, frameon=False, loc="upper left")
    return _svg(fig)


def interval_plot(rows: Sequence[tuple[str, float | None, float | None, float | None]], title: str, xlabel: str) -> str:
    """Forest plot: one point estimate with its confidence interval per row."""
    fig, ax = _axes(title, xlabel, "", size=(5.2, 0.55 * max(len(rows), 3) + 1.0))
    names = [r[0] for r in rows]
    for y, (_, value, low, high) in enumerate(rows):
        if value is None:
            continue
        if low is not None and high is not None:
            ax.plot([low, high], [y, y], color="#2563eb", linewidth=2.2, solid_capstyle="round")
        ax.scatter([value], [y], color="#1e3a8a", s=24, zorder=3)
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels(names)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    return _svg(fig)
