"""Per-step scalars kept on the device and read every few hundred steps: the one host sync
of the training loop."""

from __future__ import annotations

import numpy as np
import torch


class StepAccumulator:
    """Per-step scalars kept on the device, with the divergence guard; read with one sync.

    Each step's scalars are one row of a device buffer (one ``stack`` per step, the cheapest
    record there is); full buffers are kept until ``read``, which copies the window's rows to
    the host in one go (its one sync) and sums them there, in float64: a handful of NumPy
    calls instead of a fold of ~25 small device ops. A step whose scalars are not all finite
    counts as non-finite (the first such step is remembered) and adds nothing to the sums.
    A change of keys or a gap in the step numbers folds what was recorded first (a sync; the
    engine's steps have neither).
    """

    ROWS = 256  # rows per device buffer (~8 KB); a window of N steps keeps N / ROWS of them

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.steps = 0  # steps since the last read
        self._sums: dict[str, float] = {}
        self._nonfinite = 0
        self._first_nonfinite = -1
        self._keys: list[str] = []
        self._full: list[torch.Tensor] = []  # full (ROWS, K) buffers of this window
        self._buffer = torch.empty(0, device=device)  # (ROWS, K) float32, being filled
        self._rows = 0  # rows filled in _buffer
        self._first_step = 0  # the step of the first recorded row

    def add(self, stats: dict[str, torch.Tensor], step: int) -> None:
        keys = list(stats)
        recorded = len(self._full) * self.ROWS + self._rows
        if recorded and (keys != self._keys or step != self._first_step + recorded):
            self._fold()
            recorded = 0
        if keys != self._keys:
            self._keys = keys
            self._buffer = torch.empty(self.ROWS, len(keys), device=self.device)
        if not recorded:
            self._first_step = step
        if self._rows == self.ROWS:
            self._full.append(self._buffer)
            self._buffer = torch.empty(self.ROWS, len(keys), device=self.device)
            self._rows = 0
        torch.stack(list(stats.values()), out=self._buffer[self._rows])  # (K,) as float32
        self._rows += 1
        self.steps += 1

    def _fold(self) -> None:
        """Add the recorded rows to the host-side sums and non-finite counters."""
        rows = self._buffer[: self._rows]  # (R, K)
        if self._full:
            rows = torch.cat([*self._full, rows])
        values = rows.cpu().numpy().astype(np.float64)  # the one copy to the host (a sync)
        finite = np.isfinite(values).all(axis=1)  # (R,)
        for key, total in zip(self._keys, values[finite].sum(axis=0).tolist(), strict=True):
            self._sums[key] = self._sums.get(key, 0.0) + total
        bad_rows = np.flatnonzero(~finite)
        self._nonfinite += len(bad_rows)
        if len(bad_rows) and self._first_nonfinite < 0:
            self._first_nonfinite = self._first_step + int(bad_rows[0])
        self._full, self._rows = [], 0

    def read(self) -> tuple[dict[str, float], int, int]:
        """(means over the window, non-finite steps, first non-finite step or -1); then reset."""
        if self._rows:  # anything recorded (a full buffer moves to _full with the next row)
            self._fold()
        means = {k: v / max(self.steps, 1) for k, v in self._sums.items()}
        result = (means, self._nonfinite, self._first_nonfinite)
        self._sums, self.steps = {}, 0
        self._nonfinite, self._first_nonfinite = 0, -1
        return result
