"""A metric that takes minutes says how far it has gone: a line once it has run for
``QUIET_FOR`` seconds (a quick one stays silent), then one every tenth of its work, with the
time spent and the time it expects to need still."""

from __future__ import annotations

import logging
import time

log = logging.getLogger("aegan.evaluate")
QUIET_FOR = 10.0  # seconds a metric runs before its progress is said
STEPS = 10  # lines over the whole: one each tenth


class Progress:
    """``done(n)`` after each piece of ``total`` (``unit``: "test images") of ``what``;
    ``hint``: what sets its cost, said with the first line."""

    def __init__(self, what: str, total: int, unit: str, hint: str = "") -> None:
        self.what, self.total, self.unit, self.hint = what, total, unit, hint
        self.count, self.said, self.spoken = 0, 0, False  # items done; tenths said; a line yet
        self.start = time.perf_counter()

    def done(self, n: int) -> None:
        self.count += n
        tenths = STEPS * self.count // max(self.total, 1)
        due = tenths > self.said
        self.said = max(self.said, tenths)
        spent = time.perf_counter() - self.start
        # the first line once it has run QUIET_FOR: a tenth of hours was a silent half hour
        if spent < QUIET_FOR or (self.spoken and not due):
            return
        left = spent * (self.total - self.count) / self.count
        hint = f" ({self.hint})" if self.hint and not self.spoken else ""
        self.spoken = True
        log.info(
            "%s: %d/%d %s (%d%%) in %.0f s, about %.0f s to go%s", self.what, self.count,
            self.total, self.unit, 100 * self.count // max(self.total, 1), spent, left, hint,
        )  # fmt: skip
