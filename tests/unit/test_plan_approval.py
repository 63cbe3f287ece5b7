"""Calling off a drop a revision left out: one event id, whatever the length of the ids it is made from."""

from services.plan_approval import _left_out_id


def test_a_called_off_drop_has_a_short_stable_event_id():
    long_plan = "plan-766-" + "9" * 36
    stop = "dep-tan-binh>z07-phuong-14-quan-tan-binh:perishable~4"
    first = _left_out_id(long_plan + "-revision", long_plan, stop)
    assert first == _left_out_id(long_plan + "-revision", long_plan, stop)  # the same event when approved again
    assert len(first) <= 128 and first != _left_out_id(long_plan + "-revision", long_plan, stop + "#2")
