"""How the CLI words a library error's fix for a terminal.

Library errors (:class:`~opsflow.run.errors.RunError`) carry a ``problem``,
a ``fix`` in plain words and, where a front end may say it its own way, a
``code``. :func:`cli_message` keeps the problem and, for the codes below,
names the command or option that does the fix; any other error is shown as
the library words it.
"""

from __future__ import annotations

from ..errors import OpsflowError

__all__ = ["cli_message"]

#: code -> how the fix reads on the command line ({fix} is the library's own words)
FIXES = {
    "pick-phase": "{fix} with --phase PHASE",
    "reason-needed": 'say why with --comment "…"',
    "field-unset": "{fix} (opsflow set RUN FIELD VALUE)",
}


def cli_message(error: OpsflowError) -> str:
    """The error's message, its fix worded for the command line where that helps."""
    code = getattr(error, "code", "")
    problem = getattr(error, "problem", None)
    if not code or code not in FIXES or problem is None:
        return str(error)
    fix = FIXES[code].format(fix=getattr(error, "fix", ""))
    return f"{problem}; {fix}"
