"""Rate limits of one API process: failed authentications per client address, submissions per token.

Both live in memory, so each API worker process counts on its own (GREENLANE_API_WORKERS=2 lets a caller through
twice as often) and a restart forgets them: enough to make guessing tokens and flooding the topics slow, which is
what they are for. A shared store (Redis, PostgreSQL) would be the next step if the API ever runs on several hosts.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

MAX_KEYS = 100_000  # addresses or tokens tracked before idle ones are dropped


@dataclass(frozen=True)
class Limits:
    """The limits of one API process (GREENLANE_AUTH_FAILURE_* and GREENLANE_SUBMIT_*; defaults for people)."""

    auth_failures: int = 20  # failed authentications per client address ...
    auth_failure_window_s: float = 300.0  # ... within this window; then 429 until the oldest leaves it
    submissions_per_minute: float = 60.0  # sustained POST/PUT requests per token
    submission_burst: int = 120  # and at most this many at once (the bucket's size)


class TooManyRequests(Exception):
    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after_s = max(1, math.ceil(retry_after_s))


class FailedLogins:
    """A sliding window of failed authentications per client address: after `limit` failures within `window_s`
    every request from that address is refused, valid token or not, until the oldest failure is `window_s` old."""

    def __init__(self, limit: int, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window_s, self.clock = limit, window_s, clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, address: str) -> None:
        """Raise TooManyRequests while `address` has used up its failures."""
        now = self.clock()
        with self._lock:
            failures = self._failures.get(address)
            if failures is None or len(failures) < self.limit or now - failures[0] >= self.window_s:
                return
            wait = failures[0] + self.window_s - now
        raise TooManyRequests(f"too many failed authentications from this address: at most {self.limit} in "
                              f"{self.window_s:g} s; retry in {math.ceil(wait)} s", wait)

    def failed(self, address: str) -> None:
        """Count one failed authentication."""
        now = self.clock()
        with self._lock:
            if address not in self._failures and len(self._failures) >= MAX_KEYS:
                self._forget_idle(now)
            failures = self._failures.setdefault(address, deque(maxlen=self.limit))
            failures.append(now)

    def _forget_idle(self, now: float) -> None:
        for address in [a for a, f in self._failures.items() if now - f[-1] >= self.window_s]:
            del self._failures[address]


class SubmissionBuckets:
    """A token bucket per token: `burst` submissions at once, refilled at `per_minute`."""

    def __init__(self, per_minute: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self.per_minute, self.clock = per_minute / 60.0, burst, per_minute, clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key → (tokens left, when counted)
        self._lock = threading.Lock()

    def take(self, key: str) -> None:
        """Take one submission from `key`'s bucket, or raise TooManyRequests saying when the next one is free."""
        now = self.clock()
        with self._lock:
            tokens, then = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - then) * self.rate)
            if tokens >= 1.0:
                if key not in self._buckets and len(self._buckets) >= MAX_KEYS:
                    self._forget_full(now)
                self._buckets[key] = (tokens - 1.0, now)
                return
            self._buckets[key] = (tokens, now)
            wait = (1.0 - tokens) / self.rate
        raise TooManyRequests(f"too many submissions with this token: at most {self.per_minute:g} a minute, "
                              f"{self.burst} at once; retry in {math.ceil(wait)} s", wait)

    def _forget_full(self, now: float) -> None:
        for key in [k for k, (tokens, then) in self._buckets.items()
                    if tokens + (now - then) * self.rate >= self.burst]:
            del self._buckets[key]


class RateLimits:
    """The limits an app enforces (kept on `app.state.limits`)."""

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.logins = FailedLogins(limits.auth_failures, limits.auth_failure_window_s, clock)
        self.submissions = SubmissionBuckets(limits.submissions_per_minute, limits.submission_burst, clock)
