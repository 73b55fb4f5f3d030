"""The errors a run action can be refused with.

:class:`RunError` is an action the SOP does not allow now (wrong phase, open
checklist, no route applies, a vote still open, bad input for this run);
:class:`NotAllowed` is an actor outside the role the SOP gives that action.
Both are :class:`~opsflow.errors.OpsflowError`: one line naming the problem
and the fix. The engine records every refused attempt as an event.
"""

from __future__ import annotations

from ..errors import OpsflowError

__all__ = ["NotAllowed", "RunError"]


class RunError(OpsflowError):
    """An action on a run that the SOP does not allow in the run's current state."""


class NotAllowed(RunError):
    """The actor does not hold a role the SOP gives this action."""
