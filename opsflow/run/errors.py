"""The errors a run action can be refused with.

:class:`RunError` is an action the SOP does not allow now (wrong phase, open
checklist, no route applies, a vote decided, bad input for this run);
:class:`NotAllowed` is an actor outside the role the SOP gives that action.
Both are :class:`~opsflow.errors.OpsflowError` and carry a structured
``problem`` and ``fix`` in plain words free of any front end's vocabulary
(no command names or options), plus an optional ``code`` a front end can
use to word the fix its own way (the CLI turns ``pick-phase`` into "add
--phase PHASE"). ``str()`` is ``"problem; fix"``. The engine records every
refused attempt as an event.
"""

from __future__ import annotations

from ..errors import OpsflowError

__all__ = ["NotAllowed", "RunError"]


class RunError(OpsflowError):
    """An action on a run that the SOP does not allow in the run's current state."""

    def __init__(self, problem: str, fix: str = "", *, code: str = "") -> None:
        self.problem = problem
        self.fix = fix
        self.code = code
        super().__init__(f"{problem}; {fix}" if fix else problem)

    def prefixed(self, prefix: str) -> RunError:
        """The same error with ``prefix`` (e.g. ``run 3: ``) before its problem."""
        return type(self)(prefix + self.problem, self.fix, code=self.code)


class NotAllowed(RunError):
    """The actor does not hold a role the SOP gives this action."""
