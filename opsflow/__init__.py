"""opsflow: write, run and publish standard operating procedures.

The public facade. Names are imported lazily so that importing ``opsflow``
stays cheap (the CLI's start-up time depends on it):

* :func:`load`, :func:`loads` — a checked :class:`~opsflow.lang.model.Sop`;
* :func:`check_paths`, :func:`check_text` — diagnostics without raising;
* :class:`OpsflowError`, :class:`SopError`, :class:`Diagnostic`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY = {
    "load": "opsflow.api",
    "loads": "opsflow.api",
    "check_paths": "opsflow.api",
    "check_text": "opsflow.api",
    "OpsflowError": "opsflow.errors",
    "SopError": "opsflow.errors",
    "Diagnostic": "opsflow.errors",
}

__all__ = [
    "Diagnostic",
    "OpsflowError",
    "SopError",
    "check_paths",
    "check_text",
    "load",
    "loads",
]

if TYPE_CHECKING:
    from .api import check_paths as check_paths
    from .api import check_text as check_text
    from .api import load as load
    from .api import loads as loads
    from .errors import Diagnostic as Diagnostic
    from .errors import OpsflowError as OpsflowError
    from .errors import SopError as SopError


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'opsflow' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
