"""The report of a scenario run: one HTML page with PNG charts, the policies side by side, and metrics.json."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless
import matplotlib.pyplot as plt

COLOURS = {"greenlane": "#2e7d32", "proportional": "#1565c0", "fcfs": "#ef6c00"}
NAMES = {"greenlane": "Greenlane (max-min days of supply)", "proportional": "Proportional to population",
         "fcfs": "First come, first served"}

ROWS: list[tuple[str, str]] = [
    ("shortage_zone_days", "Zone-days with any item below 1 day of supply"),
    ("zone_days", "Zone-days measured (active zones with households)"),
    ("empty_shelves_kg", "Households' need not found on the zone's shelves (kg)"),
    ("vulnerable_served_24h", "Vulnerable households served within 24 h of their list"),
    ("vulnerable_households_in_zones", "Vulnerable households in zones (listed)"),
    ("km_driven", "Kilometres driven (approved plans)"),
    ("drops", "Drops planned and driven"),
    ("drops_on_time", "Drops delivered by their window's end"),
    ("drops_failed", "Drops failed (nothing to load, depot closed)"),
    ("plans_stored", "Plans stored"),
    ("plans_approved", "Plans approved"),
    ("changed_vehicle", "Plan stability: stops moved to another vehicle"),
    ("changed_order", "Plan stability: stops moved within a route"),
    ("open_alerts_max", "Most shortage alerts open at once"),
    ("wall_s", "Wall-clock seconds"),
]


def write(metrics: list[dict[str, Any]], out_dir: Path, title: str) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False, default=str))
    charts = [_shortage_chart(metrics, out_dir), _daily_min_chart(metrics, out_dir), _unmet_chart(metrics, out_dir),
              _service_chart(metrics, out_dir)]
    head = "".join(f"<th>{html.escape(NAMES.get(m['policy'], m['policy']))}</th>" for m in metrics)
    body = "".join(f"<tr><td>{html.escape(label)}</td>"
                   + "".join(f"<td>{_fmt(m.get(key))}</td>" for m in metrics) + "</tr>" for key, label in ROWS)
    reasons = sorted({r for m in metrics for r in m["unmet_kg_by_reason"]})
    body += "".join(f"<tr><td>Allocation shortfall (kg): {html.escape(r)}</td>"
                    + "".join(f"<td>{_fmt(m['unmet_kg_by_reason'].get(r, 0))}</td>" for m in metrics) + "</tr>"
                    for r in reasons)
    unserved = sorted({r for m in metrics for r in m["unserved_orders_by_reason"]})
    body += "".join(f"<tr><td>Orders left unserved: {html.escape(r)}</td>"
                    + "".join(f"<td>{_fmt(m['unserved_orders_by_reason'].get(r, 0))}</td>" for m in metrics)
                    + "</tr>" for r in unserved)
    sent = "; ".join(f"{m['policy']}: {json.dumps(m['events_sent'])}, {m['zone_changes']} zone changes"
                     for m in metrics)
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}
td:first-child{{text-align:left}}img{{max-width:100%}}</style></head><body>
<h1>{html.escape(title)}</h1>
<p>The same scenario played through the whole system (Kafka, streams worker, optimizer workers, API) once per
allocation policy. Figures come from the run's simulated truth (stock in each zone, hour by hour), the drops driven
and confirmed, and the plans stored in PostGIS.</p>
<table><tr><th></th>{head}</tr>{body}</table>
{''.join(f'<p><img src="{c}" alt="{c}"></p>' for c in charts)}
<p><small>Events accepted by the system: {html.escape(sent)}</small></p>
</body></html>"""
    path = out_dir / "report.html"
    path.write_text(page)
    return path


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return html.escape(f"{value:,}" if isinstance(value, int) else str(value))


def _shortage_chart(metrics: list[dict[str, Any]], out_dir: Path) -> str:
    fig, ax = plt.subplots(figsize=(6, 3.2))
    names = [m["policy"] for m in metrics]
    values = [m["shortage_zone_days"] for m in metrics]
    ax.bar(names, values, color=[COLOURS.get(n, "grey") for n in names])
    for i, v in enumerate(values):
        ax.text(i, v, str(v), ha="center", va="bottom")
    ax.set_ylabel("zone-days")
    ax.set_title("Zone-days with any item below one day of supply")
    return _save(fig, out_dir, "shortage_zone_days.png")


def _daily_min_chart(metrics: list[dict[str, Any]], out_dir: Path) -> str:
    fig, ax = plt.subplots(figsize=(6, 3.2))
    for m in metrics:
        days = sorted(int(d) for d in m["min_days_of_supply_by_day"])
        ax.plot(days, [m["min_days_of_supply_by_day"][d] if d in m["min_days_of_supply_by_day"]
                       else m["min_days_of_supply_by_day"][str(d)] for d in days], marker="o",
                label=m["policy"], color=COLOURS.get(m["policy"]))
    ax.axhline(1.0, color="red", linewidth=0.8, linestyle="--")
    ax.set_xlabel("day")
    ax.set_ylabel("days of supply")
    ax.set_title("Smallest days of supply in any zone, per day")
    ax.legend()
    return _save(fig, out_dir, "min_days_of_supply.png")


def _unmet_chart(metrics: list[dict[str, Any]], out_dir: Path) -> str:
    fig, ax = plt.subplots(figsize=(6, 3.2))
    reasons = sorted({r for m in metrics for r in m["unmet_kg_by_reason"]})
    bottom = [0.0] * len(metrics)
    for reason in reasons:
        values = [m["unmet_kg_by_reason"].get(reason, 0.0) for m in metrics]
        ax.bar([m["policy"] for m in metrics], values, bottom=bottom, label=reason)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_ylabel("kg")
    ax.set_title("Allocation shortfall of approved plans, by reason")
    if reasons:
        ax.legend(fontsize="small")
    return _save(fig, out_dir, "unmet_by_reason.png")


def _service_chart(metrics: list[dict[str, Any]], out_dir: Path) -> str:
    fig, ax = plt.subplots(figsize=(6, 3.2))
    labels = ["vulnerable served ≤24 h", "drops on time"]
    width = 0.8 / max(1, len(metrics))
    for i, m in enumerate(metrics):
        values = [m["vulnerable_served_24h_share"] or 0.0, m["drops_on_time_share"] or 0.0]
        ax.bar([x + i * width for x in range(len(labels))], values, width, label=m["policy"],
               color=COLOURS.get(m["policy"]))
    ax.set_xticks([x + width * (len(metrics) - 1) / 2 for x in range(len(labels))], labels)
    ax.set_ylim(0, 1)
    ax.set_title("Service")
    ax.legend(fontsize="small")
    return _save(fig, out_dir, "service.png")


def _save(fig: Any, out_dir: Path, name: str) -> str:
    fig.tight_layout()
    fig.savefig(out_dir / name, dpi=100)
    plt.close(fig)
    return name
