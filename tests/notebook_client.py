"""The Jupyter client of the notebook tests: a real kernel of this venv, in the notebook's
folder, killed at the end."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def notebook_client(notebook: Any, folder: Path, timeout: int) -> Any:
    """A client running ``notebook`` with ``folder`` as the kernel's working folder and
    ``timeout`` seconds a cell. ``python3`` is ipykernel's spec in this venv: jupyter_client
    starts ``sys.executable``. The kernel is killed once the cells have run, not asked to
    exit: their outputs and files are in by then, and its exit spent 1.4 s of each test in
    the interpreter's teardown."""
    import nbclient  # the notebooks' extra: each test skips without it

    return nbclient.NotebookClient(
        notebook, kernel_name="python3", timeout=timeout, shutdown_kernel="immediate",
        resources={"metadata": {"path": str(folder)}},
    )  # fmt: skip
