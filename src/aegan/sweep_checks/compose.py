"""A sweep's jobs composed as Hydra composes each, with what they share composed once
(``composing_jobs``).

Hydra composes each job afresh: it reads, parses and checks (``aegan.cli.hydra_files``) every
file of the defaults list, builds the defaults list and merges the files, then sets the
job's values. So did the check of a sweep's jobs, for each job: a grid of 1,000 values
of one setting read the same twenty files and merged them 1,000 times, minutes before
its first job started. The jobs of a grid differ in their values; only the config groups
they choose (``model=vae``) change the defaults list and what is merged. So, while the
jobs are checked, Hydra's composition runs as ever but its two costly steps are kept by
what they depend on: the defaults list by the groups chosen, the merged files by the
defaults list. Each job gets its own copy: Hydra then sets the job's values in it.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager

from hydra._internal import config_loader_impl
from hydra._internal.config_repository import ConfigRepository, IConfigRepository
from hydra._internal.defaults_list import DefaultsList, Overrides
from hydra.core.config_loader import ConfigLoader
from hydra.core.config_search_path import ConfigSearchPath
from hydra.core.object_type import ObjectType
from hydra.core.override_parser.types import Override
from hydra.plugins.config_source import ConfigResult, ConfigSource
from omegaconf import DictConfig


def _sources(repo: IConfigRepository) -> tuple:
    """Where ``repo`` finds configs: a job may change it (``hydra.searchpath=...``)."""
    return tuple((source.scheme(), source.path) for source in repo.get_sources())


class _ReadOnce(IConfigRepository):
    """Hydra's repository of config files (``ConfigRepository``), each file read once for
    all the jobs: kept by where it was found and its name, and a copy given to each job,
    whose composition changes it. Hydra copies the repository for each job, to point it
    at the job's search path; the copies here share what they read."""

    def __init__(self, delegate: ConfigRepository, shared: dict) -> None:
        self.delegate, self.shared = delegate, shared

    def __deepcopy__(self, memo: dict) -> _ReadOnce:
        return _ReadOnce(self.delegate, self.shared)  # never changed: replaced

    def initialize_sources(self, config_search_path: ConfigSearchPath) -> None:
        path = tuple((e.provider, e.path) for e in config_search_path.get_path())
        if ("repository", path) not in self.shared:
            self.shared["repository", path] = ConfigRepository(config_search_path)
        self.delegate = self.shared["repository", path]

    def load_config(self, config_path: str) -> ConfigResult | None:
        key = ("file", _sources(self.delegate), config_path)
        if key not in self.shared:  # a file Hydra refuses is refused again, for each job
            self.shared[key] = self.delegate.load_config(config_path)
        return copy.deepcopy(self.shared[key])

    def get_schema_source(self) -> ConfigSource:
        return self.delegate.get_schema_source()

    def group_exists(self, config_path: str) -> bool:
        return self.delegate.group_exists(config_path)

    def config_exists(self, config_path: str) -> bool:
        return self.delegate.config_exists(config_path)

    def get_group_options(
        self, group_name: str, results_filter: ObjectType | None = ObjectType.CONFIG
    ) -> list[str]:
        return self.delegate.get_group_options(group_name, results_filter)

    def get_sources(self) -> list[ConfigSource]:
        return self.delegate.get_sources()


@contextmanager
def composing_jobs(loader: ConfigLoader) -> Iterator[None]:
    """While it is open, ``loader`` (Hydra's) builds each defaults list and merges each
    list's files once; the jobs' values are set as Hydra sets them, on a copy."""
    build = config_loader_impl.create_defaults_list
    lists: dict[tuple, DefaultsList] = {}
    merged: dict[tuple, DictConfig] = {}

    def create_defaults_list(
        repo: IConfigRepository, config_name: str | None, overrides_list: list[Override],
        prepend_hydra: bool, skip_missing: bool,
    ) -> DefaultsList:  # fmt: skip
        split = Overrides(repo, overrides_list)  # Hydra's own split: groups, and values
        values = split.config_overrides
        groups = tuple(o.input_line for o in overrides_list if all(o is not v for v in values))
        key = (_sources(repo), config_name, prepend_hydra, skip_missing, groups)
        if key not in lists:  # a list Hydra refuses is refused again, for each job
            lists[key] = build(repo, config_name, overrides_list, prepend_hydra, skip_missing)
        known = lists[key]
        overrides = copy.copy(known.overrides)  # the choices made, with this job's values
        overrides.config_overrides = values
        return dataclasses.replace(known, config_overrides=values, overrides=overrides)

    compose = loader._compose_config_from_defaults_list  # type: ignore[attr-defined]

    def compose_once(defaults: list, repo: IConfigRepository) -> DictConfig:
        key = (_sources(repo), tuple(dataclasses.astuple(default) for default in defaults))
        if key not in merged:
            merged[key] = compose(defaults=defaults, repo=repo)
        return copy.deepcopy(merged[key])  # Hydra sets the job's values in what it is given

    repository = loader.repository  # type: ignore[attr-defined]
    config_loader_impl.create_defaults_list = create_defaults_list
    loader._compose_config_from_defaults_list = compose_once  # type: ignore[attr-defined]
    loader.repository = _ReadOnce(repository, {})  # type: ignore[attr-defined]
    try:
        yield
    finally:
        config_loader_impl.create_defaults_list = build
        del loader._compose_config_from_defaults_list  # type: ignore[attr-defined]
        loader.repository = repository  # type: ignore[attr-defined]
