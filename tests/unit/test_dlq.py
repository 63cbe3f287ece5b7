"""The pure parts of `greenlane dlq`: reading records, selecting, planning replays, formatting."""

import argparse
import json
from datetime import UTC, datetime

import pytest

from infra.dlq import (
    DeadLetter,
    Position,
    Selection,
    decode_dead_letter,
    decode_replays,
    format_plan,
    format_table,
    json_line,
    missing_positions,
    parse_position,
    plan_replay,
    positive_int,
    register,
    replay_record,
    replays_spec,
    replays_topic,
    select,
    shorten,
)
from services.dead_letter import dead_letter_record

ORIGINAL = json.dumps({"event_id": "e-1", "event_type": "demand.submitted"}).encode()


def dead(partition, offset, *, source="gl.demand", field="commune_code", reason="unknown commune 99999",
         key=b"760", value=ORIGINAL, failed_at=None):
    record = json.loads(dead_letter_record(reason=reason, field=field, source_topic=source, partition=1,
                                           offset=offset * 10, key=key, value=value))
    if failed_at is not None:
        record["failed_at"] = failed_at
    return DeadLetter(Position(partition, offset), record)


def replayed_at(position, n=1):
    return {position: [{"replayed_at": f"2021-07-09T0{i}:00:00+00:00"} for i in range(n)]}


# ------------------------------------------------------------------------------------------------ positions


@pytest.mark.parametrize(("text", "expected"), [("0:0", Position(0, 0)), ("2:17", Position(2, 17)),
                                                 (" 1:5 ", Position(1, 5))])
def test_positions_parse_as_partition_colon_offset(text, expected):
    assert parse_position(text) == expected
    assert str(expected) == text.strip()


@pytest.mark.parametrize("text", ["", "3", "a:1", "1:b", "1:2:3", "-1:4", "1:-4", ":"])
def test_bad_positions_are_refused_for_argparse(text):
    with pytest.raises(argparse.ArgumentTypeError):
        parse_position(text)


def test_positions_sort_by_partition_then_offset():
    assert sorted([Position(1, 0), Position(0, 10), Position(0, 2)]) == [Position(0, 2), Position(0, 10),
                                                                          Position(1, 0)]


@pytest.mark.parametrize("text", ["0", "-1", "x"])
def test_limit_must_be_a_positive_number(text):
    with pytest.raises(argparse.ArgumentTypeError):
        positive_int(text)


# ------------------------------------------------------------------------------------------------ records


def test_a_dead_letter_record_reads_back_with_its_original_key_and_bytes():
    value = dead_letter_record(reason="r", field="zone_id", source_topic="gl.demand", partition=3, offset=42,
                               key=b"769", value=ORIGINAL)
    record = decode_dead_letter(1, 7, value)
    assert record is not None
    assert record.position == Position(1, 7)
    assert (record.source_topic, record.field, record.reason, record.event_id) == ("gl.demand", "zone_id", "r", "e-1")
    assert record.source == "gl.demand@3/42"
    assert (record.key, record.original) == (b"769", ORIGINAL)


def test_a_record_without_key_or_value_has_none_for_both():
    record = decode_dead_letter(0, 0, dead_letter_record(reason="r", field="value", source_topic="t", partition=0,
                                                         offset=0, key=None, value=None))
    assert record is not None and record.key is None and record.original is None and record.event_id is None


@pytest.mark.parametrize("value", [b"not json", b"\xff\xfe", b"[1, 2]", b"", None])
def test_unreadable_dead_letter_records_are_ignored(value):
    assert decode_dead_letter(0, 1, value) is None


def test_replays_are_grouped_by_the_position_they_replayed_and_bad_ones_ignored():
    replays = decode_replays([(b"0:3", b'{"replayed_at": "a"}'), (b"1:0", b'{"replayed_at": "b"}'),
                              (b"0:3", b'{"replayed_at": "c"}'), (b"junk", b"{}"), (None, b"{}"),
                              (b"0:9", b"not json")])
    assert replays == {Position(0, 3): [{"replayed_at": "a"}, {"replayed_at": "c"}],
                       Position(1, 0): [{"replayed_at": "b"}]}


def test_a_replay_record_names_the_dead_letter_position_and_the_event():
    when = datetime(2021, 7, 9, 8, tzinfo=UTC)
    record = json.loads(replay_record(dead(2, 5), "gl.dead-letter", again=True, replayed_at=when))
    assert record["dead_letter_topic"] == "gl.dead-letter"
    assert (record["dead_letter_partition"], record["dead_letter_offset"]) == (2, 5)
    assert (record["source_topic"], record["event_id"], record["field"]) == ("gl.demand", "e-1", "commune_code")
    assert record["replayed_at"] == when.isoformat() and record["again"] is True


def test_the_replays_topic_follows_the_prefix_and_is_kept_forever():
    assert replays_topic("greenlane") == "greenlane.dead-letter-replays"
    spec = replays_spec(replays_topic("x"))
    assert (spec.name, spec.partitions, spec.retention_ms) == ("x.dead-letter-replays", 1, -1)


# ------------------------------------------------------------------------------------------------ selecting


RECORDS = [
    dead(0, 0, field="commune_code", failed_at="2021-07-09T08:00:03+00:00"),
    dead(1, 0, field="zone_id", reason="unknown zone z9", failed_at="2021-07-09T08:00:01+00:00"),
    dead(0, 1, source="gl.stock", field="commune_code", value=b'{"event_id": "e-2"}',
         failed_at="2021-07-09T08:00:02+00:00"),
    dead(1, 1, field="value", value=b"\xff garbage", failed_at="2021-07-09T08:00:04+00:00"),
]


def positions(records):
    return [str(r.position) for r in records]


def test_no_criteria_select_everything_oldest_first():
    assert positions(select(RECORDS, Selection())) == ["1:0", "0:1", "0:0", "1:1"]


@pytest.mark.parametrize(("selection", "expected"), [
    (Selection(source_topic="gl.demand"), ["1:0", "0:0", "1:1"]),
    (Selection(source_topic="gl.stock"), ["0:1"]),
    (Selection(field="commune_code"), ["0:1", "0:0"]),
    (Selection(source_topic="gl.demand", field="commune_code"), ["0:0"]),
    (Selection(event_id="e-2"), ["0:1"]),
    (Selection(positions=frozenset({Position(1, 1), Position(0, 0)})), ["0:0", "1:1"]),
    (Selection(field="commune_code", positions=frozenset({Position(1, 1)})), []),
    (Selection(source_topic="gl.nothing"), []),
])
def test_criteria_combine_with_and(selection, expected):
    assert positions(select(RECORDS, selection)) == expected


def test_a_limit_keeps_the_most_recent_records():
    assert positions(select(RECORDS, Selection(), limit=2)) == ["0:0", "1:1"]
    assert positions(select(RECORDS, Selection(), limit=10)) == ["1:0", "0:1", "0:0", "1:1"]
    assert positions(select(RECORDS, Selection(field="zone_id"), limit=1)) == ["1:0"]


def test_positions_asked_for_but_absent_are_reported():
    wanted = Selection(positions=frozenset({Position(0, 0), Position(5, 5), Position(0, 9)}))
    assert missing_positions(RECORDS, wanted) == [Position(0, 9), Position(5, 5)]
    assert missing_positions(RECORDS, Selection()) == []


# ------------------------------------------------------------------------------------------------ planning


def test_records_not_yet_replayed_are_replayed_and_the_others_skipped():
    plan = plan_replay(RECORDS, replayed_at(Position(0, 0)), again=False)
    assert positions(plan.replay) == ["1:0", "0:1", "1:1"]
    assert [(str(d.position), why.split(" (")[0]) for d, why in plan.skipped] == [("0:0", "already replayed")]
    assert "--again" in plan.skipped[0][1]


def test_again_replays_records_already_replayed():
    plan = plan_replay(RECORDS[:1], replayed_at(Position(0, 0), n=2), again=True)
    assert positions(plan.replay) == ["0:0"] and plan.skipped == []


def test_records_without_an_original_or_a_source_are_never_replayed():
    no_value = dead(0, 5, value=None)
    no_source = DeadLetter(Position(0, 6), {**RECORDS[0].record, "source_topic": None})
    plan = plan_replay([no_value, no_source], {}, again=True)
    assert plan.replay == []
    assert [why for _, why in plan.skipped] == ["no original value to replay", "no source topic in the record"]


# ------------------------------------------------------------------------------------------------ formatting


def test_shorten_keeps_one_line_within_the_width():
    assert shorten("short", 10) == "short"
    assert shorten("a  b\nc", 10) == "a b c"
    cut = shorten("x" * 30, 10)
    assert len(cut) == 10 and cut.endswith("…")


def test_the_table_has_one_aligned_row_per_record_with_the_replay_state():
    long_reason = "unknown commune 99999 " + "and a very long explanation " * 5
    records = [dead(0, 0, reason=long_reason, failed_at="2021-07-09T15:00:03+07:00"), RECORDS[3]]
    lines = format_table(records, replayed_at(Position(0, 0), n=2)).splitlines()
    assert len(lines) == 3
    header, first, second = lines
    for column in ("position", "failed_at", "source", "field", "reason", "event_id", "replayed"):
        assert column in header
    assert first.split()[:4] == ["0:0", "2021-07-09", "08:00:03", "gl.demand@1/0"]
    assert "unknown commune 99999" in first and "…" in first and long_reason.strip() not in first
    assert first.rstrip().endswith("yes (2x)") and second.rstrip().endswith("no")
    assert "e-1" in first
    assert second.split()[:1] == ["1:1"] and " - " in second  # garbage has no event id
    assert header.index("source") == first.index("gl.demand@")  # columns line up


def test_a_json_line_carries_the_position_the_record_and_its_replays():
    line = json_line(RECORDS[0], replayed_at(Position(0, 0)))
    data = json.loads(line)
    assert (data["position"], data["partition"], data["offset"]) == ("0:0", 0, 0)
    assert data["reason"] == "unknown commune 99999" and data["original_b64"] == RECORDS[0].record["original_b64"]
    assert data["replayed"] == 1 and data["replays"][0]["replayed_at"].startswith("2021-07-09")
    assert json.loads(json_line(RECORDS[1], {}))["replayed"] == 0


def test_the_replay_report_names_each_record_and_sums_up():
    plan = plan_replay(RECORDS[:2], replayed_at(Position(1, 0)), again=False)
    plan.missing = [Position(7, 7)]
    text = format_plan(plan, dry_run=False)
    assert "replayed" in text and "0:0" in text and "→ gl.demand key=760 event_id=e-1" in text
    assert "skipped" in text and "1:0" in text and "already replayed" in text
    assert "not found" in text and "7:7" in text
    assert text.splitlines()[-1] == "dlq replay: 1 replayed, 1 skipped, 1 not found"
    dry = format_plan(plan, dry_run=True)
    assert "would replay" in dry and dry.splitlines()[-1].endswith("(dry run: nothing published)")


# ------------------------------------------------------------------------------------------------ command line


def parser():
    root = argparse.ArgumentParser(prog="greenlane")
    register(root.add_subparsers(dest="command", required=True))
    return root


def test_list_arguments():
    args = parser().parse_args(["dlq", "list", "--topic", "gl.demand", "--field", "zone_id", "--limit", "5",
                                "--json"])
    assert (args.topic, args.field, args.limit, args.json) == ("gl.demand", "zone_id", 5, True)
    assert args.run.__name__ == "_list"
    assert parser().parse_args(["dlq", "list"]).limit is None


def test_replay_arguments_take_several_positions():
    args = parser().parse_args(["dlq", "replay", "--position", "0:1", "1:2", "--position", "2:3", "--event-id", "e",
                                "--dry-run", "--again"])
    assert args.position == [Position(0, 1), Position(1, 2), Position(2, 3)]
    assert (args.event_id, args.dry_run, args.again, args.run.__name__) == ("e", True, True, "_replay")


@pytest.mark.parametrize("argv", [["dlq"], ["dlq", "replay", "--position", "x"], ["dlq", "list", "--limit", "0"]])
def test_bad_command_lines_are_refused(argv, capsys):
    with pytest.raises(SystemExit):
        parser().parse_args(argv)
