"""One scenario under several allocation policies, one after the other, and the report comparing them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from infra.settings import ROOT, Settings

from . import metrics, report
from .model import Scenario
from .run import Progress, RunResult, run


def run_policies(scenario: Scenario, settings: Settings, policies: list[str], speed: float | None = None,
                 keep_running: bool = False, optimizers: int = 2, out_dir: Path | None = None,
                 progress: Progress | None = None, plan_time_limit_s: float = 3.0
                 ) -> tuple[list[RunResult], list[dict[str, Any]], Path]:
    """Play the scenario once per policy (the last one may stay running) and write the report."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    out_dir = out_dir or ROOT / ".local" / "reports" / f"{scenario.meta.name}-{stamp}"
    results, figures = [], []
    for n, policy in enumerate(policies):
        result = run(scenario, settings, policy, speed=speed, optimizers=optimizers,
                     keep_running=keep_running and n == len(policies) - 1, progress=progress,
                     run_id=stamp.replace("-", "")[4:], plan_time_limit_s=plan_time_limit_s)
        results.append(result)
        figures.append(metrics.compute(result))
    path = report.write(figures, out_dir, f"Lockdown scenario {scenario.meta.name}: {scenario.meta.days} days, "
                                          f"{len(scenario.zones)} zones, policies side by side")
    return results, figures, path
