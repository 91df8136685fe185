"""Where the class a ``_target_`` names is found: the longest prefix of it that names a
module, imported (off the meta device, before a task is built there), and, where Hydra
cannot locate it, why: the module fails to import, is nowhere on the path, or lacks it.
"""

from __future__ import annotations

import contextlib
import importlib
import pkgutil
from typing import Any


def longest_module(target: str) -> tuple[str, Any]:
    """``(module, what importing it gave)`` for the longest prefix of ``target`` (``a.b.C``)
    that names a module: the module, or the exception it raised as it loaded (a dependency
    missing, a syntax error); ``("", None)`` where no prefix names one."""
    parts = target.split(".")
    for end in range(len(parts) - 1, 0, -1):  # the longest module path first
        module = ".".join(parts[:end])
        try:
            return module, importlib.import_module(module)
        except ModuleNotFoundError as err:
            if err.name is not None and (err.name == module or module.startswith(f"{err.name}.")):
                continue  # no module by that name: the target is shorter
            return module, err
        except Exception as err:  # a user's module: whatever it raises as it loads
            return module, err
    return "", None


def why_not_found(target: str) -> str:
    """Why ``target`` (``module.Class``) cannot be located: its module fails to import (a
    dependency missing, a syntax error), is nowhere on the path, or lacks the name."""
    module, found = longest_module(target)
    if isinstance(found, Exception):
        reason = " ".join(str(found).split())[:200]
        return f"importing {module} failed: {type(found).__name__}: {reason}"
    if module:
        for name in target.split(".")[module.count(".") + 1 :]:
            if not hasattr(found, name):
                return f"{module} has no {name}" + defined_in(found, name)
            found, module = getattr(found, name), f"{module}.{name}"
        return "no such class or function"
    if "." not in target:
        return "no such class or function: name it with its module, module.Class"
    return (
        f"no module {target.split('.')[0]} can be imported here: install its package "
        "(pip install -e DIR), or add the folder that holds it to PYTHONPATH"
    )


def defined_in(package: Any, name: str) -> str:
    """Where in ``package`` ``name`` is defined, said as the fix (a new model's task file
    whose class the package does not import yet); "" for a module or a name defined nowhere."""
    for info in pkgutil.iter_modules(getattr(package, "__path__", [])):
        module = f"{package.__name__}.{info.name}"
        with contextlib.suppress(Exception):  # a file that fails to import defines nothing here
            found = getattr(importlib.import_module(module), name, None)
            if getattr(found, "__module__", None) == module:  # defined there, not imported
                return (
                    f": it is defined in {module}: name it {module}.{name}, or import it in "
                    f"{package.__name__.replace('.', '/')}/__init__.py"
                )
    return ""
