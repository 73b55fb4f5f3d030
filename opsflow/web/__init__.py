"""The team web app (``opsflow serve``): sign in, see what waits on you, act on runs.

Server-rendered pages (Jinja2 templates in ``renderers/app/``) over the same
library as the CLI: every action goes through :class:`opsflow.run.engine.Engine`,
so the web adds no rule and skips none. See :mod:`opsflow.web.app`.
"""
