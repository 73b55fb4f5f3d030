"""The run stage: a checked SOP → a compiled SOP → runs that people move.

* :mod:`.compiler` and :mod:`.compiled` — the typed, frozen, versioned
  compiled SOP, the one structure the rest of this stage reads;
* :mod:`.machine` — one ``transitions`` machine per SOP version;
* :mod:`.core`, :mod:`.actions`, :mod:`.context` — the pure run core: one
  action applied to a :class:`~.state.RunState`, with the events it causes;
* :mod:`.events` and :mod:`.projection` — the typed event vocabulary and
  what is derived from it (phase visits, ticks, votes, milestones);
* :mod:`.policy`, :mod:`.authority`, :mod:`.conditions`,
  :mod:`.fieldvalues`, :mod:`.clock` — the rules, as pure functions;
* :mod:`.status` — what a run looks like now; :mod:`.engine` — runs
  persisted through :mod:`opsflow.store`.

Nothing here parses ``.sop`` text except :meth:`.engine.Engine.start`
(through :mod:`opsflow.lang`), and nothing prints.
"""
