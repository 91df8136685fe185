"""A metric that takes minutes says how far it has gone: a line every tenth of its work,
once it has run for ``QUIET_FOR`` seconds (a quick one stays silent), with the time spent
and the time it expects to need still."""

from __future__ import annotations

import logging
import time

log = logging.getLogger("aegan.evaluate")
QUIET_FOR = 10.0  # seconds a metric runs before its progress is said
STEPS = 10  # lines over the whole: one each tenth


class Progress:
    """``done(n)`` after each piece of ``total`` (``unit``: "test images") of ``what``."""

    def __init__(self, what: str, total: int, unit: str) -> None:
        self.what, self.total, self.unit = what, total, unit
        self.count, self.said = 0, 0  # items done; tenths said
        self.start = time.perf_counter()

    def done(self, n: int) -> None:
        self.count += n
        tenths = STEPS * self.count // max(self.total, 1)
        if tenths <= self.said:
            return
        self.said = tenths
        spent = time.perf_counter() - self.start
        if spent < QUIET_FOR:
            return
        left = spent * (self.total - self.count) / self.count
        log.info(
            "%s: %d/%d %s (%d%%) in %.0f s, about %.0f s to go", self.what, self.count,
            self.total, self.unit, 100 * self.count // max(self.total, 1), spent, left,
        )  # fmt: skip
