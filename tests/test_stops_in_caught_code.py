"""A stop signal that comes while code runs that catches every ``Exception`` (a log line
being written, whose handler reports its own failures and goes on) stops the run all the
same: the stop was reported as a "--- Logging error ---" traceback and the run went on to
its end, exit status 0, as if the signal had not come."""

import logging
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from aegan.engine.interrupt import TrainingInterrupted, stop_before_training, stop_on_signals
from aegan.train import train
from conftest import TINY_AE


class SignalAsWritten(logging.StreamHandler):
    """A console handler, as Hydra's is, that gets ``number`` as it writes the first line
    whose message starts with ``start`` (inside its ``emit``, which catches what fails)."""

    def __init__(self, number: int, start: str) -> None:
        super().__init__()
        self.number, self.start, self.sent = number, start, False

    def format(self, record: logging.LogRecord) -> str:
        if not self.sent and str(record.msg).startswith(self.start):
            self.sent = True
            signal.raise_signal(self.number)
        return super().format(record)


@contextmanager
def signal_as_logged(number: int, start: str) -> Iterator[SignalAsWritten]:
    handler, logger = SignalAsWritten(number, start), logging.getLogger("aegan")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)  # as a command's logging config sets it
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_a_stop_as_setup_logs_a_line_stops_the_run(make_cfg, capsys):
    number = signal.SIGTERM
    cfg = make_cfg(*TINY_AE, "logger.enabled=false")
    with (
        signal_as_logged(number, "data %s: train") as handler,
        pytest.raises(TrainingInterrupted) as caught,
    ):
        train(cfg)
    assert (caught.value.phase, caught.value.exit_code) == ("setup", 128 + number)
    assert "Logging error" not in capsys.readouterr().err
    assert handler.sent and not (Path(cfg.paths.output_dir) / "checkpoints" / "last.pt").exists()


def test_a_stop_as_a_line_is_logged_after_training_stops_at_once(tmp_path):
    with stop_on_signals(run_dir=tmp_path) as stop, signal_as_logged(signal.SIGTERM, "codes"):
        stop.alone()  # training has ended: the final evaluation, the codes, the hparams
        with pytest.raises(TrainingInterrupted, match="after training ended"):
            logging.getLogger("aegan.evaluate").warning("codes of %d images", 64)


def test_a_stop_as_a_line_is_logged_before_training_stops_at_once():
    with (
        stop_before_training(),
        signal_as_logged(signal.SIGINT, "reading"),
        pytest.raises(TrainingInterrupted, match="while setting up"),
    ):
        logging.getLogger("aegan.data").info("reading %s", "images")
