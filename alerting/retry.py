"""When a failed delivery is tried again, and when Vigil stops trying.

Attempt ``n`` (counting from 1) that fails is retried after
``min(cap_s, base_s * 2 ** (n - 1))`` seconds, scaled by a jitter of +-20 % so a
fleet of dispatchers does not retry a recovered receiver in lockstep. With the
defaults (10 s doubling, capped at 15 min) that is 10 s, 20 s, 40 s, 80 s, 160 s,
320 s, 640 s, then every 900 s; retries go on until ``window_s`` (24 h) after the
alert was queued (or retried by hand), the last attempt falling at the window's
end: about 100 attempts. Then the row is dead-lettered (status ``failed``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class RetryPolicy:
    base_s: float = 10.0
    cap_s: float = 900.0
    window_s: float = 86_400.0
    jitter: float = 0.2

    def nominal_s(self, attempts: int) -> float:
        """The wait after ``attempts`` failed tries, before jitter."""
        return float(min(self.cap_s, self.base_s * 2 ** (attempts - 1)))

    def delay_s(self, attempts: int, *, u: float | None = None) -> float:
        """The wait after ``attempts`` failed tries; ``u`` in [0, 1] picks the jitter."""
        u = random.random() if u is None else u
        return self.nominal_s(attempts) * (1 - self.jitter + 2 * self.jitter * u)

    def next_attempt_at(
        self, attempts: int, *, now: datetime, window_from: datetime, u: float | None = None
    ) -> datetime | None:
        """When to try again after ``attempts`` failed tries; None once the window is over."""
        end = window_from + timedelta(seconds=self.window_s)
        if now >= end:
            return None
        return min(now + timedelta(seconds=self.delay_s(attempts, u=u)), end)
