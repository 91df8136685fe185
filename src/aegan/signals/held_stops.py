"""Code that a stop's exception would leave half done runs whole: a stop handler that
raises waits for it to end.

The engine's handlers raise where the signal comes (an epoch's validation, the final
evaluation, setup; a second Ctrl-C), which may be inside TensorBoard's writer queue: an
exception there counted an event whose writer thread was never woken, and the stop's own
flush then waited for that thread's two-minute timer before the run could end. Within
``held`` (TensorBoard's writes, ``aegan.tensorboard_writer``) a handler wrapped by
``after_held`` records the signal, which is sent again as the block ends, the handler then
running there.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from types import FrameType

Handler = Callable[[int, FrameType | None], object]

_depth = [0]  # how many ``held`` blocks the main thread is in
_held: list[int] = []  # the signals that came within them, in order


class _Held:
    """Reentrant: a write within a write sends the signals again as the outer one ends."""

    def __enter__(self) -> None:
        _depth[0] += 1

    def __exit__(self, *exc_info: object) -> None:
        _depth[0] -= 1
        if _depth[0] == 0 and _held:
            numbers, _held[:] = list(_held), []
            for number in numbers:  # the handler runs as each is sent: it may raise
                signal.raise_signal(number)


held = _Held()


def after_held(handler: Handler) -> Handler:
    """``handler``, run at once outside ``held`` and as a ``held`` block ends inside it."""

    def run_after_held(number: int, frame: FrameType | None) -> object:
        if _depth[0]:
            _held.append(number)
            return None
        return handler(number, frame)

    return run_after_held
