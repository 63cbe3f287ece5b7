"""The API's rate limits on a clock of the test's own: failed authentications per address, submissions per token."""

import pytest

from api.ratelimit import FailedLogins, SubmissionBuckets, TooManyRequests


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_an_address_is_refused_while_its_failures_fill_the_window():
    clock = Clock()
    logins = FailedLogins(limit=3, window_s=60, clock=clock)
    for at in (0, 10, 20):
        clock.now = at
        logins.check("a")
        logins.failed("a")
    clock.now = 25
    with pytest.raises(TooManyRequests) as refused:
        logins.check("a")
    assert refused.value.retry_after_s == 35  # until the first failure is a minute old
    logins.check("b")  # other addresses are not affected
    clock.now = 60
    logins.check("a")  # one failure left the window: one more try
    logins.failed("a")
    with pytest.raises(TooManyRequests) as again:
        logins.check("a")
    assert again.value.retry_after_s == 10


def test_a_bucket_gives_a_burst_then_refills_at_the_rate():
    clock = Clock()
    buckets = SubmissionBuckets(per_minute=30, burst=3, clock=clock)
    for _ in range(3):
        buckets.take("token")
    with pytest.raises(TooManyRequests) as refused:
        buckets.take("token")
    assert refused.value.retry_after_s == 2 and "at most 30 a minute, 3 at once" in refused.value.message
    buckets.take("other")
    clock.now = 2.0
    buckets.take("token")
    with pytest.raises(TooManyRequests):
        buckets.take("token")
    clock.now = 1000.0  # a long pause refills the bucket, never beyond the burst
    for _ in range(3):
        buckets.take("token")
    with pytest.raises(TooManyRequests):
        buckets.take("token")
