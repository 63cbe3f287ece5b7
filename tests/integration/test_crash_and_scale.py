"""Scale-out on the real broker: two workers split the partitions and still agree with an independent tally of
what was sent. (A worker killed mid-stream: tests/faults/test_faults.py.)"""

import re
from pathlib import Path

import pytest
from sqlalchemy import text

from infra.processes import streams_worker
from tests.conftest import free_port, wait_until
from tests.integration.conftest import streams_of_their_own
from tests.integration.traffic import Tally, Traffic, matches, mismatch


@pytest.fixture
def isolated(settings, isolated_database_url, tmp_path):
    """Settings with topics, an app id and a database of their own, the coverage projection emptied."""
    with streams_of_their_own(settings, "test", tmp_path / "w1", database_url=isolated_database_url) as (own, built):
        with built.engine.begin() as conn:
            conn.execute(text("TRUNCATE coverage"))
        yield own, built


def test_two_workers_split_the_partitions_and_agree_with_the_tally(isolated, tmp_path):
    own, built = isolated
    traffic = Traffic(built.topics, seed=23)
    first = streams_worker(own, tmp_path / "a.log")
    second = streams_worker(own.model_copy(update={"streams_web_port": free_port(),
                                                   "streams_data_dir": tmp_path / "w2"}), tmp_path / "b.log")
    try:
        for _ in range(10):
            Traffic.send(built.publisher, traffic.batch(300))
        _wait_for_tally(traffic.tally, built.projections, [first.log_path, second.log_path])
        owned = [_last_partitions(w.log_path.read_text()) for w in (first, second)]
        assert all(owned), owned
        assert not owned[0] & owned[1] and owned[0] | owned[1] == set(range(own.topic_partitions))
    finally:
        second.stop()
        first.stop()


def _wait_for_tally(tally: Tally, projections: object, logs: list[Path]) -> None:
    """Wait until the projection agrees with the tally; on timeout, fail with the differences and the log tails."""
    try:
        wait_until(lambda: matches(tally, projections), timeout_s=180, interval_s=0.5)
    except AssertionError:
        tails = "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}" for log in logs)
        raise AssertionError(f"projection differs from the tally: {mismatch(tally, projections)}\n{tails}") from None


def _last_partitions(log: str) -> set[int]:
    found = re.findall(r"coverage rebuilt for partitions \[([0-9, ]*)\]", log)
    return {int(p) for p in found[-1].split(",") if p.strip()} if found else set()
