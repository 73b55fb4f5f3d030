"""The per-source work of a publish, runnable in worker processes.

Two kinds of job: *load* (read, parse and check one ``.sop`` file) and
*render* (turn one checked SOP into its page, downloads and, with Graphviz,
its SVG). Both are plain functions of picklable data, so :func:`run_jobs`
can spread a large library over the machine's cores (a fork-based process
pool) and keep small publishes in-process. Results come back in job order,
so the output does not depend on how the work was spread. Nothing here
writes files; :mod:`opsflow.render.site` decides what to do and writes.

Each worker watches its parent: when the publishing process is gone (even
killed with SIGKILL, which runs no clean-up), the worker exits within
:data:`WATCH_SECONDS` instead of waiting for work that will never come.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from ..api import load
from ..errors import Diagnostic, SopError
from ..lang.model import Sop
from . import diagram as dg
from . import documents
from .pages import Link, PageInfo, href, library_page, page_base, sop_page
from .viewmodel import build_view

__all__ = [
    "PARALLEL_FROM",
    "WATCH_SECONDS",
    "LoadResult",
    "RenderJob",
    "RenderResult",
    "default_workers",
    "load_job",
    "render_job",
    "run_jobs",
    "watch_parent",
]

#: publishes with fewer jobs than this stay in one process
PARALLEL_FROM = 24

#: how often a worker checks that the publishing process is still there
WATCH_SECONDS = 0.2


@dataclass(frozen=True)
class LoadResult:
    rel: str
    sop: Sop | None
    diagnostics: tuple[Diagnostic, ...] = ()


def load_job(job: tuple[str, str, str | None]) -> LoadResult:
    """Read, parse and check one file: ``(site-relative name, path, library folder)``."""
    rel, path, library = job
    try:
        return LoadResult(rel, load(path, library))
    except SopError as exc:
        return LoadResult(rel, None, tuple(exc.diagnostics))


@dataclass(frozen=True)
class RenderJob:
    rel: str
    sop: Sop
    #: (include as written, site-relative name of the included file or "")
    includes: tuple[tuple[str, str], ...] = ()
    #: (site-relative name, title) of the files that include this one
    included_by: tuple[tuple[str, str], ...] = ()
    svg: bool = False


@dataclass(frozen=True)
class RenderResult:
    rel: str
    files: dict[str, str] = field(default_factory=dict)  # site path -> text
    graphviz_seconds: float = 0.0


def render_job(job: RenderJob) -> RenderResult:
    """Every file of one source's pages (its SVG too when ``job.svg``)."""
    base = page_base(job.rel)
    path = base + ".html"
    includes = tuple(Link(written, href(path, page_base(target) + ".html") if target else "")
                     for written, target in job.includes)
    included_by = tuple(Link(title, href(path, page_base(other) + ".html"))
                        for other, title in job.included_by)
    view = build_view(job.sop)
    if job.sop.is_library:
        info = PageInfo(job.rel, path, includes, included_by)
        return RenderResult(job.rel, {path: library_page(view, info)})
    downloads = {"md": base + ".md", "csv": base + ".raci.csv", "mmd": base + ".mmd",
                 "dot": base + ".dot"}
    drawing = dg.build_diagram(job.sop, view)
    dot_source = dg.dot(drawing)
    parts = documents.playbook_parts(view)
    files = {downloads["md"]: documents.playbook(view, drawing, parts),
             downloads["csv"]: documents.raci(view, "csv"),
             downloads["mmd"]: dg.mermaid(drawing), downloads["dot"]: dot_source}
    svg_href, seconds = "", 0.0
    if job.svg:
        started = time.perf_counter()
        svg = dg.svg(dot_source)
        seconds = time.perf_counter() - started
        if svg is not None:
            files[base + ".svg"] = svg
            svg_href = href(path, base + ".svg")
    info = PageInfo(job.rel, path, includes, included_by,
                    {kind: href(path, target) for kind, target in downloads.items()}, svg_href)
    files[path] = sop_page(view, info, parts)
    return RenderResult(job.rel, files, seconds)


def default_workers(jobs: int) -> int:
    """How many processes to use for ``jobs`` jobs: one for small publishes."""
    if jobs < PARALLEL_FROM:
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


def watch_parent(parent: int) -> None:
    """In a worker: exit as soon as process ``parent`` is no longer this one's parent."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(WATCH_SECONDS)
        os._exit(1)  # the publish is gone: nobody will read our results

    threading.Thread(target=watch, name="opsflow-watch-parent", daemon=True).start()


J = TypeVar("J")
R = TypeVar("R")


def run_jobs(func: Callable[[J], R], jobs: Sequence[J], workers: int,
             done: Callable[[int], None] | None = None) -> Iterator[R]:
    """``func`` over ``jobs`` in order, in ``workers`` processes (1: in this one).

    ``done(n)`` is called after the n-th result (for a progress bar).
    """
    if workers <= 1 or len(jobs) < 2:
        results: Iterator[R] = map(func, jobs)
        for count, result in enumerate(results, 1):
            if done:
                done(count)
            yield result
        return
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    chunk = max(1, len(jobs) // (workers * 8))
    with ProcessPoolExecutor(max_workers=workers, mp_context=context,
                             initializer=watch_parent, initargs=(os.getpid(),)) as pool:
        for count, result in enumerate(pool.map(func, jobs, chunksize=chunk), 1):
            if done:
                done(count)
            yield result
