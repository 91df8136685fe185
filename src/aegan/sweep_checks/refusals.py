"""How a Hydra callback's check refuses: a user's mistake as one line and exit code 2,
Hydra's own errors left for Hydra to say, a check that broke as aegan's fault. The
callbacks of ``aegan.sweep_checks.settings`` and ``.evaluation`` refuse through these."""

from __future__ import annotations

import traceback
from collections.abc import Callable

from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from aegan.cli.one_line import report_error
from aegan.errors import USER_ERRORS


def mistakes_only(check: Callable[[], None]) -> None:
    """``check``, raising the user's mistakes and aegan's own failures: what Hydra or
    OmegaConf raise (a broken interpolation, an override Hydra cannot apply) Hydra or the
    job says in its own line, where a callback's exception would be a warning line before it."""
    try:
        check()
    except USER_ERRORS:
        raise
    except Exception as err:
        if not hydra_says_it(err):
            raise


def hydra_says_it(err: Exception) -> bool:
    """``err`` is Hydra's or OmegaConf's, raised in their code: Hydra says it again as it
    composes the job. Anything else is a check that broke, which passed a setting unchecked."""
    if isinstance(err, (OmegaConfBaseException, HydraException)):
        return True
    tb = err.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    module = str(tb.tb_frame.f_globals.get("__name__", "")) if tb is not None else ""
    return module.partition(".")[0] in ("hydra", "omegaconf", "hydra_plugins")


def refuse_in_one_line(check: Callable[[], None], config: DictConfig) -> None:
    """A user's mistake as one line and exit code 2 (``debug=true``: its traceback too).
    Hydra's own (a broken interpolation in ``hydra.run.dir``) Hydra or the job says in its
    own line, a moment later: Hydra turns a callback's exception into a warning of five
    lines before it. A check that broke stops the command, exit code 1, with its traceback:
    passed over, it let the run start unchecked."""
    try:
        check()
    except USER_ERRORS as err:
        if debug_on(config):
            traceback.print_exc()
        report_error(str(err))
        raise SystemExit(2) from None
    except Exception as err:
        if debug_on(config) or not hydra_says_it(err):
            traceback.print_exc()
        if not hydra_says_it(err):  # a check that broke: nothing is known checked
            report_error(
                f"the check of the settings failed ({type(err).__name__}: "
                f"{err}); nothing was started. This is aegan's fault: its traceback is above"
            )
            raise SystemExit(1) from None


def debug_on(config: DictConfig) -> bool:
    """``debug=true``, where it resolves at all."""
    return (
        OmegaConf.select(config, "debug", default=False, throw_on_resolution_failure=False) is True
    )
