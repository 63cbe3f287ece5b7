"""The exercise clock the optimizer workers read in a scenario run."""

from datetime import UTC, datetime, timedelta, timezone

from infra.clock import clock_of, write_clock


def test_the_clock_reads_the_simulated_time_and_falls_back_to_the_wall_clock(tmp_path):
    path = tmp_path / "run.clock"
    clock = clock_of(path)
    assert abs(clock() - datetime.now(UTC)) < timedelta(seconds=5)  # no file yet: the wall clock
    simulated = datetime(2021, 7, 10, 6, 0, tzinfo=timezone(timedelta(hours=7)))
    write_clock(path, simulated)
    assert clock() == simulated
    path.write_text("half-writ")
    assert abs(clock() - datetime.now(UTC)) < timedelta(seconds=5)
    assert abs(clock_of(None)() - datetime.now(UTC)) < timedelta(seconds=5)
