"""The values a sweep's overrides take, read before its first job: counted without listing
them (a range of 10**9 would fill the memory), each swept once, and the values a search
can pick, to check each job it may run (``aegan.sweep_checks.jobs``)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from decimal import Decimal

from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.types import (
    ChoiceSweep,
    Glob,
    IntervalSweep,
    Override,
    RangeSweep,
)

from aegan.errors import ConfigError

# a search's values checked in every combination up to this many, else each value alone
SEARCH_COMBINATIONS = 64
SWEEPS = (ChoiceSweep, RangeSweep, IntervalSweep, Glob)


def search_values(overrides: list[Override]) -> Iterator[list[str]]:
    """The jobs a search can run, as ``key=value`` lists: each swept key's every choice or
    its range's ends, in every combination while there are at most SEARCH_COMBINATIONS;
    else each value with the other keys at their first."""
    fixed = [o.input_line for o in overrides if not o.is_sweep_override()]
    swept = [o for o in overrides if o.is_sweep_override()]
    values = [[f"{o.key_or_group}={v}" for v in values_to_try(o)] for o in swept]
    count = 1
    for options in values:
        count *= len(options)
    if count <= SEARCH_COMBINATIONS:
        for combination in itertools.product(*values):
            yield [*fixed, *combination]
        return
    for index, options in enumerate(values):
        for option in options:
            yield [*fixed, *(v[0] for v in values[:index]), option,
                   *(v[0] for v in values[index + 1:])]  # fmt: skip


def check_swept_once(typed: list[Override], swept: list[Override]) -> None:
    """A sweep on the command line (``typed``) is not replaced by a later value of its key,
    and each of ``swept`` (the sweeper's ``params`` too) sweeps each value once: Hydra kept
    the last of ``seed=1,2 seed=3,4`` without a word, and ran ``model.latent_dim=4,4`` (or
    ``params: {seed: 0,1,0}`` in a config) twice. (A fixed value a later sweep replaces is
    a script's base settings with a sweep added.)"""
    for index, override in enumerate(typed):
        later = [o for o in typed[index + 1 :] if o.key_or_group == override.key_or_group]
        if override.is_sweep_override() and later:
            raise ConfigError(
                f"{override.input_line} is not allowed: {later[-1].input_line} comes after it, "
                "and Hydra would keep only the last; give the key once"
            )
    for override in swept:
        sweep = override.value()
        if isinstance(sweep, ChoiceSweep):  # as parsed: 1e-3 and 0.001 are one number
            seen: set[tuple[str, str]] = set()
            twice = next((v for v in sweep.list if _seen_before(v, seen)), None)
            if twice is not None:
                raise ConfigError(
                    f"{override.input_line} is not allowed: it sweeps "
                    f"{Override._get_value_element_as_str(twice)} twice, the same job run "
                    "again; give each value once"
                )


def check_grid_sweeps(overrides: list[Override], searches: list[str]) -> None:
    """A grid (Hydra's basic sweeper) lists each swept key's values: an ``interval()``,
    which only a search draws from, is one line naming the searches (``searches``: the
    options of hparams_search), where the basic sweeper said "BasicSweeper does not
    support sweep type : INTERVAL_SWEEP"."""
    for override in overrides:
        if override.is_sweep_override() and isinstance(override.value(), IntervalSweep):
            named = " or ".join(f"hparams_search={name}" for name in searches)
            raise ConfigError(
                f"{override.input_line} is not allowed: interval() is drawn from by a search "
                f"sweeper, and this sweep is a grid; search it with {named or 'hparams_search=...'}"
                ", or list its values (A,B) or a range(A,B)"
            )


def _seen_before(value: object, seen: set[tuple[str, str]]) -> bool:
    """Whether ``value`` (a parsed sweep value: a number, text, a list or dict) is in
    ``seen`` by its type and written form, adding it; one pass, not one per pair."""
    key = (type(value).__name__, repr(value))
    found = key in seen
    seen.add(key)
    return found


def sweep_size(override: Override) -> int:
    """How many values the swept ``override`` takes, counted without listing them (a range
    of 10**9 would fill the memory); a sweep that cannot work, or takes no value (a grid of
    it had no job, and the sweep exited 0), is one line."""
    sweep, line = override.value(), override.input_line
    ends = {RangeSweep: ("start", "stop", "step"), IntervalSweep: ("start", "end")}
    for name in ends.get(type(sweep), ()):
        if not math.isfinite(getattr(sweep, name)):  # range(0,inf): Decimal's ceil raised
            raise ConfigError(f"{line} is not allowed: its {name} must be a finite number")
    if isinstance(sweep, ChoiceSweep):
        nested = next((type(v).__name__ for v in sweep.list if isinstance(v, SWEEPS)), None)
        if nested:  # Hydra's own words: "Unexpected type annotation: Set[str]"
            raise ConfigError(
                f"{line} is not allowed: a list of values to sweep holds no sweep ({nested}); "
                "sweep one way per key"
            )
        return len(sweep.list)
    if isinstance(sweep, RangeSweep):
        if sweep.step == 0:
            raise ConfigError(f"{line} is not allowed: a range's step must not be 0")
        size = _range_size(sweep)
        if not size:
            raise ConfigError(f"{line} is not allowed: it sweeps no value (its start lies "
                              "past its end)")  # fmt: skip
        return size
    if isinstance(sweep, IntervalSweep) and sweep.start > sweep.end:
        raise ConfigError(f"{line} is not allowed: it sweeps no value (its start lies past "
                          "its end)")  # fmt: skip
    if isinstance(sweep, Glob):
        key = override.key_or_group
        options = GlobalHydra.instance().config_loader().get_group_options(key)
        if not options:
            raise ConfigError(f"{line} is not allowed: glob() picks among a config group's "
                              f"options, and {key} is no group; list its values instead")  # fmt: skip
        matched = sweep.filter(options)
        if not matched:
            raise ConfigError(f"{line} is not allowed: it matches none of {key}'s options "
                              f"({', '.join(options)})")  # fmt: skip
        return len(matched)
    return 1  # an interval: drawn from by a search


def shown_count(count: int) -> str:
    """A count of jobs or values for a message: ``1,000,000``, or ``about 1.0e+300`` where its
    digits would fill lines (``range(-1e300,0)``)."""
    return f"{count:,}" if count < 10**15 else f"about {count:.1e}"


def _range_size(sweep: RangeSweep) -> int:
    """A range's count of values as Hydra steps it: in ``Decimal``, so that
    ``range(0.1,1.0,0.1)`` has 9 values, as Hydra sweeps, not the 10 of float division."""
    start, stop, step = (Decimal(v) for v in (sweep.start, sweep.stop, sweep.step))
    return max(0, math.ceil((stop - start) / step))


def values_to_try(override: Override) -> list[str]:
    """A swept override's values as text: every choice; a range's or interval's two ends."""
    sweep = override.value()
    if isinstance(sweep, ChoiceSweep):
        return [Override._get_value_element_as_str(v) for v in sweep.list]
    if isinstance(sweep, RangeSweep):
        last = Decimal(sweep.start) + (sweep_size(override) - 1) * Decimal(sweep.step)
        return [str(v) for v in (sweep.start, type(sweep.start)(last))]
    if isinstance(sweep, IntervalSweep):
        return [str(sweep.start), str(sweep.end)] if sweep.start <= sweep.end else []
    return []
