"""Per-step scalars kept on the device and read every few hundred steps: the one host sync
of the training loop."""

from __future__ import annotations

import numpy as np
import torch

# The largest step scalar kept: TensorBoard and the progress bar hold them as float32, where
# a larger one (a float64 1e39) is infinite.
FLOAT32_MAX = float(torch.finfo(torch.float32).max)


class StepAccumulator:
    """Per-step scalars kept on the device, with the divergence guard; read with one sync.

    Each step's scalars are one row of a float64 buffer on their own device (one ``stack``
    per step, the cheapest record there is; float64 keeps a float64 scalar whole, so that one
    beyond float32 is told from one that overflowed); full buffers are kept until ``read``,
    which copies the window's rows to the host in one go (its one sync) and sums them there:
    a handful of NumPy calls instead of a fold of ~25 small device ops. A step whose scalars
    are not all finite within float32 (``FLOAT32_MAX``) counts as non-finite (the first such
    step is remembered, with those scalars: ``first_bad``) and adds nothing to the sums. A
    change of keys or a gap in the step numbers folds what was recorded first (a sync; the
    engine's steps have neither).
    """

    ROWS = 256  # rows per device buffer (~16 KB); a window of N steps keeps N / ROWS of them

    def __init__(self) -> None:
        self.steps = 0  # steps since the last read
        self._sums: dict[str, float] = {}
        self._nonfinite = 0
        self._first_nonfinite = -1
        self.first_bad: dict[str, float] = {}  # the scalars of that step that were not finite
        self._keys: list[str] = []  # of the rows being recorded
        self._first_step = 0  # the step of the first row being recorded
        self._full: list[torch.Tensor] = []  # full (ROWS, K) buffers
        self._buffer: torch.Tensor | None = None  # (ROWS, K), being filled
        self._rows = 0  # rows filled in _buffer

    @property
    def _recorded(self) -> int:
        return len(self._full) * self.ROWS + self._rows

    def add(self, stats: dict[str, torch.Tensor], step: int) -> None:
        keys = list(stats)
        if self._recorded and (keys != self._keys or step != self._first_step + self._recorded):
            self._fold()
        values = list(stats.values())
        if not self._recorded:
            self._keys, self._first_step = keys, step
            self._buffer = values[0].new_empty((self.ROWS, len(keys)), dtype=torch.float64)
        elif self._rows == self.ROWS:
            self._full.append(self._buffer)
            self._buffer = self._buffer.new_empty(self._buffer.shape)
            self._rows = 0
        torch.stack(values, out=self._buffer[self._rows])  # (K,) as float64
        self._rows += 1
        self.steps += 1

    def _fold(self) -> None:
        """Add the recorded rows to the host-side sums and non-finite counters."""
        rows = torch.cat([*self._full, self._buffer[: self._rows]])  # (R, K)
        values = np.asarray(rows.cpu(), dtype=np.float64)  # the one copy to the host (a sync)
        kept = np.abs(values) <= FLOAT32_MAX  # (R, K); NaN and inf fail it too
        finite = kept.all(axis=1)  # (R,)
        totals = values[finite].sum(axis=0)  # (K,)
        for column, key in enumerate(self._keys):
            self._sums[key] = self._sums.get(key, 0.0) + float(totals[column])
        bad_rows = np.flatnonzero(~finite)
        self._nonfinite += len(bad_rows)
        if len(bad_rows) and self._first_nonfinite < 0:  # said by name: only here, found bad
            row = bad_rows[0]
            self._first_nonfinite = self._first_step + int(row)
            self.first_bad = {k: float(values[row, c]) for c, k in enumerate(self._keys)
                              if not kept[row, c]}  # fmt: skip
        self._full, self._rows = [], 0

    def nonfinite(self) -> tuple[int, int]:
        """(non-finite steps, first non-finite step or -1) of the window so far; no reset."""
        if self._recorded:
            self._fold()
        return self._nonfinite, self._first_nonfinite

    def state(self) -> dict:
        """The window so far (its sums, a sync if it holds rows), for a checkpoint: a resume
        continues it, so that its mean is that of a run that never stopped."""
        if self._recorded:
            self._fold()
        return {"steps": self.steps, "sums": dict(self._sums), "nonfinite": self._nonfinite,
                "first_nonfinite": self._first_nonfinite}  # fmt: skip

    def load_state(self, state: dict) -> None:
        """Continue the window a checkpoint saved (``state``), before the first ``add``."""
        self.steps = state["steps"]
        self._sums = {key: float(value) for key, value in state["sums"].items()}
        self._nonfinite, self._first_nonfinite = state["nonfinite"], state["first_nonfinite"]

    def read(self) -> tuple[dict[str, float], int, int]:
        """(means over the window, non-finite steps, first non-finite step or -1); then reset."""
        if self._recorded:
            self._fold()
        means = {k: v / max(self.steps, 1) for k, v in self._sums.items()}
        result = (means, self._nonfinite, self._first_nonfinite)
        self._sums, self.steps = {}, 0
        self._nonfinite, self._first_nonfinite, self.first_bad = 0, -1, {}
        return result


def bad_step_line(step: int, scalars: dict[str, float], where: str) -> str:
    """The line that stops a run at ``step`` (1-based) for its ``scalars`` by name (those not
    finite within float32; empty where another process had them), ``where`` the last good
    checkpoint: a NaN or an infinity is divergence, a finite value beyond float32 is not."""
    diverged = [f"{k}={v}" for k, v in scalars.items() if not np.isfinite(v)]
    beyond = [f"{k}={v:.4g}" for k, v in scalars.items() if np.isfinite(v)]
    too_big = f"{', '.join(beyond)}: finite, but beyond float32's range ({FLOAT32_MAX:.3g})"
    if beyond and not diverged:
        return (
            f"step {step} returned {too_big}, in which the engine keeps and logs step scalars; "
            f"training stopped, {where} (return it within that range: scaled, or its log)"
        )
    named = f": {', '.join(diverged)}" if diverged else ""
    named += f" (and {too_big})" if beyond else ""
    return (
        f"non-finite loss at step {step}{named}; training stopped, {where} (lower the learning "
        "rate, use bf16/fp32, or trainer.on_nonfinite=skip)"
    )
