"""Hydra's own flags where Hydra reads them otherwise than asked, each one line: ``--package``
(``-p``) is read only by ``--cfg`` (without it the run started, the flag ignored), and a
package the config lacks was "package 'nope' not found in config" with exit code 1, a
setting set to null said so too; ``--hydra-help`` composes Hydra's config alone, so a setting
of the command's given with it was refused as no setting; ``--cfg hydra --resolve`` leaves
out the settings Hydra's own read (``hydra.run.dir`` reads ``paths.log_dir``)."""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
from typing import Any

from hydra._internal.hydra import Hydra
from hydra._internal.utils import get_args_parser
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from aegan.errors import ConfigError
from aegan.settings.overrides import override_key


class _NotParsed(Exception):
    """argparse's refusal of the flags, which Hydra printed after its usage lines."""


class _Exited(Exception):
    """argparse's exit after a flag that prints and ends (``--version`` as ``--vers``)."""


def _parsed(argv: list[str]) -> argparse.Namespace | str | None:
    """``argv`` as Hydra's parser reads it; argparse's line where it refuses them; None for
    ``--version`` and ``--help`` (``--vers``), which Hydra's own parse prints."""
    if any(arg in ("--version", "-h", "--help") for arg in argv):
        return None
    parser = get_args_parser()

    def refuse(message: str) -> None:
        raise _NotParsed(message)

    def exit_(status: int = 0, message: str | None = None) -> None:
        raise _Exited

    parser.error = refuse  # type: ignore[method-assign]
    # argparse's own exit alone, not any SystemExit: a stop signal's (StoppedBySignal) went
    # unseen, and the command ran on after its line said it had stopped
    parser.exit = exit_  # type: ignore[method-assign]
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # --vers: said by Hydra's own parse
            return parser.parse_args(argv)
    except _NotParsed as err:  # --cfg nope: "argument --cfg/-c: invalid choice: 'nope' ..."
        return str(err)
    except _Exited:
        return None


def rerun_line(argv: list[str]) -> str | None:
    """The line for ``--experimental-rerun FILE`` (or a prefix of it, ``--exp``): Hydra
    unpickles FILE, which runs whatever code it names, and runs the task on the config it
    holds, past every check of the settings and the folder."""
    args = _parsed(argv)
    if isinstance(args, argparse.Namespace) and args.experimental_rerun is not None:
        return (
            f"--experimental-rerun {args.experimental_rerun} is not allowed: Hydra would "
            "unpickle the file, which runs any code it names, and skip every check; run the "
            "command again with the run's overrides (RUN_DIR/.hydra/overrides.yaml)"
        )
    return None


def flags_line(argv: list[str]) -> str | None:
    """The line for Hydra's flags in ``argv`` that would be read otherwise than asked."""
    args = _parsed(argv)
    if not isinstance(args, argparse.Namespace):
        return args
    if args.config_path is not None:  # in place of conf/, which holds every run's settings
        return (
            f"--config-path {args.config_path} is not allowed: it replaces aegan's conf/; add a "
            "folder of configs of your own with --config-dir DIR (or hydra.searchpath=[file://DIR])"
        )
    if args.package is not None and args.cfg is None:
        return (
            f"--package {args.package} is read only with --cfg (--cfg job --package "
            f"{args.package}); without it the run would start and ignore it"
        )
    if args.cfg == "hydra" and args.resolve:
        return (
            "--cfg hydra --resolve cannot resolve Hydra's settings: they read the command's "
            "(hydra.run.dir reads paths.log_dir), which --cfg hydra leaves out; show them with "
            "--cfg all --resolve --package hydra"
        )
    own = [o for o in args.overrides if override_key(o).partition(".")[0] != "hydra"]
    if args.hydra_help and own:
        return (
            f"--hydra-help shows Hydra's own help, composed without the command's settings: "
            f"{own[0]} cannot be given with it; --help shows the command's"
        )
    return None


def check_package(cfg: DictConfig, package: str, cfg_type: str) -> bool:
    """``ConfigError`` for a ``--package`` that ``cfg`` (what ``--cfg cfg_type`` shows) has
    not, naming the keys where it stops; True for one set to null (shown as ``null``)."""
    parent, _, last = package.rpartition(".")
    node = OmegaConf.select(cfg, parent, throw_on_resolution_failure=False) if parent else cfg
    if OmegaConf.is_dict(node) and last in node:
        return node._get_node(last)._is_none()
    where = f"{parent} has" if parent and OmegaConf.is_dict(node) else f"--cfg {cfg_type} shows"
    keys = sorted(map(str, node.keys())) if OmegaConf.is_dict(node) else sorted(map(str, cfg))
    raise ConfigError(
        f"--package {package}: the config has no {package}; {where}: {', '.join(keys)}"
    )


def _checked_show(show: Any) -> Any:
    @functools.wraps(show)
    def show_cfg(self: Hydra, **kwargs: Any) -> None:
        package = kwargs.get("package")
        if package not in (None, "_global_"):
            cfg = self.compose_config(
                config_name=kwargs["config_name"], overrides=kwargs["overrides"],
                run_mode=RunMode.RUN, with_log_configuration=False,
            )  # fmt: skip
            if check_package(self.get_sanitized_cfg(cfg, kwargs["cfg_type"]), package,
                             kwargs["cfg_type"]):  # fmt: skip
                print("null")  # as Hydra shows any other value that is not a mapping
                return None
        return show(self, **kwargs)

    show_cfg.checks_package = True
    return show_cfg


def install() -> None:
    """Check ``--cfg``'s package as Hydra shows it (once per process)."""
    if not getattr(Hydra.show_cfg, "checks_package", False):
        Hydra.show_cfg = _checked_show(Hydra.show_cfg)


install()
