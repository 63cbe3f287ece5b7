"""What time it is for the optimizer: the wall clock, or in an exercise the simulated time its runner writes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path


def clock_of(clock_file: Path | None) -> Callable[[], datetime]:
    """A clock reading `clock_file` (one ISO 8601 time with its offset) when given, else the wall clock. A file
    missing or half-written reads as the wall clock, so a worker never stops over it."""
    if clock_file is None:
        return lambda: datetime.now(UTC)
    path = clock_file

    def read() -> datetime:
        try:
            at = datetime.fromisoformat(path.read_text().strip())
        except (OSError, ValueError):
            return datetime.now(UTC)
        return at if at.tzinfo is not None else datetime.now(UTC)

    return read


def write_clock(clock_file: Path, at: datetime) -> None:
    """Set the exercise clock (atomically: a reader sees the old time or the new one)."""
    partial = clock_file.with_suffix(".tmp")
    partial.write_text(at.isoformat())
    partial.replace(clock_file)
