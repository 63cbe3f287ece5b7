"""The delivery loop's rule per record (streams/faust_delivery.py): what keeps a restart from skipping events."""

import pytest

from streams.faust_delivery import RESEEKS_BEFORE_ACCEPTING_A_GAP, Step, next_step


@pytest.mark.parametrize("expected, offset", [(None, 0), (None, 5_000), (140, 140), (0, 0)])
def test_the_next_record_or_any_record_after_a_fresh_assignment_is_delivered(expected, offset):
    assert next_step(expected, offset, contiguous=True, seeks_back=0) is Step.DELIVER


def test_a_record_already_delivered_is_dropped_as_a_repeat():
    assert next_step(141, 140, contiguous=True, seeks_back=0) is Step.DROP_REPEAT
    assert next_step(141, 3, contiguous=False, seeks_back=0) is Step.DROP_REPEAT


def test_a_record_past_the_next_offset_on_an_input_topic_sends_the_partition_back():
    # the loss seen after a worker restart: committed 140, a record fetched before the seek arrives at 1,610
    assert next_step(140, 1_610, contiguous=True, seeks_back=0) is Step.SEEK_BACK
    assert next_step(140, 142, contiguous=True, seeks_back=RESEEKS_BEFORE_ACCEPTING_A_GAP - 1) is Step.SEEK_BACK


def test_a_gap_that_seeking_back_does_not_fill_is_crossed_at_last():
    # offsets deleted by retention: seeking back lands on the log start again and again
    assert next_step(140, 900, contiguous=True, seeks_back=RESEEKS_BEFORE_ACCEPTING_A_GAP) is Step.DELIVER_OVER_GAP


def test_holes_in_a_compacted_changelog_are_normal():
    assert next_step(140, 1_610, contiguous=False, seeks_back=0) is Step.DELIVER
