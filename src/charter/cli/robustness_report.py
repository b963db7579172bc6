"""The robustness suite's output: report.json (the RobustnessReport) and a self-contained
HTML table (inline CSS, no scripts or external assets)."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, select_autoescape

from charter.engines.robustness import TIERS, RobustnessReport, summary

_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Robustness of {{ report.model_id }}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#1b1f24}
table{border-collapse:collapse;margin:1rem 0 2rem}
th,td{padding:.25rem .6rem;border-bottom:1px solid #d0d7de;text-align:right}
th:first-child,td:first-child,th:nth-child(2),td:nth-child(2){text-align:left}
thead th{background:#f6f8fa}
.bad{color:#b42318}.good{color:#067647}.muted{color:#667085}
</style></head><body>
<h1>Evasion robustness: {{ report.model_id }}</h1>
<p>Policy {{ report.policy.id }}@{{ report.policy.version }} ({{ report.policy.hash[:12] }}) ·
seed {{ report.seed }} · {{ report.created_at.strftime("%Y-%m-%d %H:%M UTC") }}
{% for k, v in report.sources.items() %} · {{ k }}: {{ v }}{% endfor %}</p>
<p class="muted">Recall of gold-violating items. <em>raw</em>: evasion variants scored with normalization
switched off; <em>normalized</em>: the normal path. Recovered = (normalized − raw) / (original − raw);
— when the evasion cost no recall. Values above 1 mean the variants score higher than the
originals (the fired evasion signals are themselves features).</p>
{% for tier in tiers %}
<h2>At the {{ tier }} threshold</h2>
<table><thead><tr><th>category</th><th>transformation</th><th>threshold</th><th>items</th>
<th>original</th><th>raw</th><th>normalized</th><th>recovered</th></tr></thead><tbody>
{% for row in report.rows if row.tier == tier %}
<tr><td>{{ row.category }}</td><td>{{ row.transformation }}</td><td>{{ "%.2f"|format(row.threshold) }}</td>
<td>{{ row.n }}</td><td>{{ "%.3f"|format(row.original_recall) }}</td>
<td class="{{ 'bad' if row.raw_recall < row.original_recall else '' }}">{{ "%.3f"|format(row.raw_recall) }}</td>
<td>{{ "%.3f"|format(row.normalized_recall) }}</td>
<td class="{{ 'good' if row.recovered_share is not none and row.recovered_share >= 0.5 else '' }}">
{{ "—" if row.recovered_share is none else "%.0f%%"|format(100 * row.recovered_share) }}</td></tr>
{% endfor %}
{% for category, s in summaries[tier].items() %}
<tr><th>{{ category }}</th><th>mean over transformations</th><th></th><th></th>
<th>{{ "%.3f"|format(s.original_recall) }}</th><th>{{ "%.3f"|format(s.raw_recall) }}</th>
<th>{{ "%.3f"|format(s.normalized_recall) }}</th>
<th>{{ "—" if s.recovered_share is none else "%.0f%%"|format(100 * s.recovered_share) }}</th></tr>
{% endfor %}
</tbody></table>
{% endfor %}
<p class="muted">Numbers: <a href="{{ json_name }}">{{ json_name }}</a></p>
</body></html>
"""

_env = Environment(autoescape=select_autoescape(default_for_string=True))


def write_robustness_report(report: RobustnessReport, out_dir: Path) -> tuple[Path, Path]:
    """Write report.html and report.json into `out_dir`; returns both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "report.json"
    html_path = out_dir / "report.html"
    json_path.write_text(report.model_dump_json(indent=2), encoding="utf-8")
    summaries = {tier: summary(report, tier) for tier in TIERS}
    html = _env.from_string(_TEMPLATE).render(report=report, tiers=TIERS, summaries=summaries, json_name=json_path.name)
    html_path.write_text(html, encoding="utf-8")
    return html_path, json_path
