"""Publishing SOPs as a static HTML site, rebuilding only what changed.

:func:`publish` finds the ``.sop`` files under the given paths, checks the
ones that changed (an SOP with errors stops the publish before anything is
written, with the checker's diagnostics), renders a page per SOP (playbook,
RACI chart, diagram) and per shared file, plus downloads (playbook Markdown,
RACI CSV, Mermaid and DOT), the index and the stylesheet, and records what it
did in the manifest (:mod:`opsflow.render.manifest`).

A page is rebuilt only when its *key* changes: the source's hash, the hashes
of the files it includes, the files that include it, the template version
and whether Graphviz drew the diagrams. Large publishes spread the loading
and rendering (Graphviz included) over a process pool
(:mod:`opsflow.render.sitejobs`); without Graphviz the pages show the flow in
words. The library never prints: progress goes to an optional callback.

What a publish may touch (see docs/security.md): it reads only regular
``.sop`` files inside the folders given (links out are skipped with a
warning) and their includes inside the same roots; it writes only inside
``out_dir`` (every path is checked by :func:`~opsflow.render.files.site_path`
before anything is written, so a symbolic link on the way stops the publish)
and removes only files under ``pages/`` that an earlier publish recorded. It
refuses a non-empty folder it did not make unless ``force``. Publishes into
one folder take turns through a lock file.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import Diagnostic, SopError
from ..lang.loader import find_sop_files, read_source
from ..lang.model import Sop
from . import diagram as dg
from . import documents
from .files import (
    LOCK_NAME,
    PublishError,
    check_owned,
    prepare_dir,
    read_bytes,
    remove_file,
    site_lock,
    site_path,
    write_atomic,
)
from .gitdates import last_changes
from .manifest import MANIFEST_NAME, Entry, Manifest, dump_manifest, read_manifest
from .pages import STYLESHEET, IndexEntry, href, index_page, page_base, stylesheet
from .sitejobs import RenderJob, default_workers, load_job, render_job, run_jobs
from .templates import template_version
from .words import Namer

__all__ = ["Progress", "PublishReport", "publish"]

#: ``progress(stage, done, total)``; stages are "Checking" and "Rendering"
Progress = Callable[[str, int, int], None]


@dataclass
class PublishReport:
    """What :func:`publish` did. Paths in ``written``/``removed`` are site-relative."""

    out_dir: str
    procedures: int = 0
    shared: int = 0
    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    rendered: list[str] = field(default_factory=list)  # sources whose pages were rebuilt
    warnings: list[Diagnostic] = field(default_factory=list)  # e.g. links skipped (W100)
    unchanged: list[str] = field(default_factory=list)  # sources skipped
    svg: bool = False
    graphviz_seconds: float = 0.0
    seconds: float = 0.0


@dataclass
class _Source:
    rel: str
    path: str
    hash: str
    #: the date of its last change (git's, else the file's; see ``gitdates``)
    changed: str = ""


def _root(paths: Iterable[str]) -> str:
    dirs = [os.path.abspath(p if os.path.isdir(p) else os.path.dirname(p) or ".") for p in paths]
    return os.path.commonpath(dirs)


def _scan(paths: list[str]) -> tuple[dict[str, _Source], list[Diagnostic]]:
    files, problems = find_sop_files(paths)
    diagnostics: list[Diagnostic] = [d for d in problems if d.is_error]
    root = _root(paths)
    sources: dict[str, _Source] = {}
    for path in files:
        try:
            text = read_source(path)
        except SopError as exc:
            diagnostics.extend(exc.diagnostics)
            continue
        rel = os.path.relpath(os.path.abspath(path), root).replace(os.sep, "/")
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        sources[rel] = _Source(rel, path, digest)
    if diagnostics:
        raise SopError(diagnostics)
    for rel, changed in last_changes(root, sources).items():
        sources[rel].changed = changed
    return sources, [d for d in problems if not d.is_error]


def _load_all(rels: list[str], sources: dict[str, _Source], workers: int,
              progress: Progress | None, library: str | None) -> dict[str, Sop]:
    """Load and check files; every error of every file, or the models."""
    jobs = [(rel, sources[rel].path, library) for rel in rels]
    done = (lambda n: progress("Checking", n, len(jobs))) if progress else None
    models: dict[str, Sop] = {}
    diagnostics: list[Diagnostic] = []
    for result in run_jobs(load_job, jobs, workers, done):
        diagnostics.extend(result.diagnostics)
        if result.sop is not None:
            models[result.rel] = result.sop
    if diagnostics:
        raise SopError(diagnostics)
    return models


def _entry(source: _Source, sop: Sop, by_abs: dict[str, str]) -> Entry:
    includes = [(inc.path, by_abs.get(os.path.normpath(inc.resolved), "")) for inc in sop.includes]
    return Entry(hash=source.hash, title=sop.title or source.rel,
                 owner=Namer(sop).role(sop.owner) if sop.owner else "",
                 phases=len(sop.phases), library=sop.is_library, includes=includes)


def _included_by(entries: dict[str, Entry]) -> dict[str, list[tuple[str, str]]]:
    result: dict[str, list[tuple[str, str]]] = {rel: [] for rel in entries}
    for rel, entry in entries.items():
        for _, target in entry.includes:
            if target in result:
                result[target].append((rel, entry.title))
    return {rel: sorted(set(items)) for rel, items in result.items()}


def _keys(entries: dict[str, Entry], sources: dict[str, _Source], salt: str) -> dict[str, str]:
    included_by = _included_by(entries)
    keys = {}
    for rel, entry in entries.items():
        closure, todo = set(), [t for _, t in entry.includes if t]
        while todo:
            target = todo.pop()
            if target in closure or target not in entries:
                continue
            closure.add(target)
            todo.extend(t for _, t in entries[target].includes if t)
        data = [salt, sources[rel].hash, entry.includes, included_by[rel],
                sorted((t, sources[t].hash) for t in closure)]
        keys[rel] = hashlib.sha256(json.dumps(data).encode()).hexdigest()[:24]
    return keys


def _index(entries: dict[str, Entry], sources: dict[str, _Source]) -> str:
    rows = [IndexEntry(e.title, e.owner, e.phases, sources[rel].changed,
                       rel, href("index.html", page_base(rel) + ".html"))
            for rel, e in entries.items()]
    sops = sorted((r for r in rows if not entries[r.source].library),
                  key=lambda r: (r.title.casefold(), r.source))
    libraries = sorted((r for r in rows if entries[r.source].library), key=lambda r: r.source)
    return index_page(sops, libraries)


def _write_if_changed(out: Path, rel: str, text: str, report: PublishReport) -> None:
    data = text.encode("utf-8")
    path = site_path(out, rel)
    if read_bytes(path) != data:
        write_atomic(path, data)
        report.written.append(rel)


def _render_all(stale: list[str], models: dict[str, Sop], entries: dict[str, Entry],
                use_svg: bool, workers: int, progress: Progress | None, report: PublishReport
                ) -> dict[str, dict[str, str]]:
    included_by = _included_by(entries)
    jobs = [RenderJob(rel, models[rel], tuple(entries[rel].includes),
                      tuple(included_by[rel]), use_svg) for rel in stale]
    done = (lambda n: progress("Rendering", n, len(jobs))) if progress else None
    rendered = {}
    for result in run_jobs(render_job, jobs, workers, done):
        rendered[result.rel] = result.files
        report.graphviz_seconds += result.graphviz_seconds
    return rendered


def _write_site(out: Path, rendered: dict[str, dict[str, str]], entries: dict[str, Entry],
                sources: dict[str, _Source], old: Manifest, report: PublishReport) -> None:
    # every target is checked before the first write: a link on the way stops the publish
    targets = {name: site_path(out, name) for files in rendered.values() for name in files}
    for name in ("index.html", STYLESHEET, MANIFEST_NAME):
        site_path(out, name)
    for rel, files in rendered.items():
        for path, text in sorted(files.items()):
            write_atomic(targets[path], text.encode("utf-8"))
            report.written.append(path)
        entries[rel].outputs = sorted(files)
    for rel in sources:
        if rel not in rendered:
            entries[rel].outputs = old.entries[rel].outputs
    _write_if_changed(out, "index.html", _index(entries, sources), report)
    _write_if_changed(out, STYLESHEET, stylesheet(), report)
    keep = {o for e in entries.values() for o in e.outputs} | {"index.html", STYLESHEET}
    for name in sorted({o for e in old.entries.values() for o in e.outputs} - keep):
        if not _inside_pages(name):
            continue
        try:
            target = site_path(out, name)
        except PublishError:  # a tampered manifest and a link: never delete through it
            continue
        if remove_file(target):
            report.removed.append(name)


def _inside_pages(name: str) -> bool:
    """Only files under ``pages/`` are ever removed (whatever a manifest says)."""
    parts = name.split("/")
    return parts[0] == "pages" and ".." not in parts and "" not in parts and "\\" not in name


def publish(paths: Iterable[str | os.PathLike[str]], out_dir: str | os.PathLike[str],
            progress: Progress | None = None, svg: bool | None = None,
            workers: int | None = None, force: bool = False,
            library: str | os.PathLike[str] | None = None) -> PublishReport:
    """Publish the SOPs under ``paths`` as a static site in ``out_dir``.

    ``svg``: draw diagrams with Graphviz (``None``: when ``dot`` is installed).
    ``workers``: processes to use (``None``: all cores for large publishes).
    ``force``: publish into a non-empty folder that publish did not make.
    ``library``: a folder of shared files includes may also come from.
    Raises :class:`~opsflow.errors.SopError` (nothing written) when an SOP
    has errors, :class:`~opsflow.render.files.PublishError` when ``out_dir``
    cannot be written, is someone else's folder, or has a link on the way.
    """
    started = time.perf_counter()
    out = Path(out_dir)
    sources, warnings = _scan([os.fspath(p) for p in paths])
    use_svg = dg.dot_available() if svg is None else svg
    if svg and not dg.dot_available():
        raise documents.RenderError(documents.NO_DOT)
    shared = os.fspath(library) if library is not None else None
    if not force:
        check_owned(out, (MANIFEST_NAME, LOCK_NAME))
    checked: dict[str, Sop] = {}
    if not out.is_dir():  # nothing to lock yet: check every SOP before the folder exists
        rels = list(sources)
        count = workers if workers is not None else default_workers(len(rels))
        checked = _load_all(rels, sources, count, progress, shared)
    prepare_dir(out)
    with site_lock(out):
        report = _publish_locked(out, sources, checked, use_svg, workers, progress, shared)
    report.warnings = warnings
    report.seconds = time.perf_counter() - started
    return report


def _publish_locked(out: Path, sources: dict[str, _Source], checked: dict[str, Sop],
                    use_svg: bool, workers: int | None, progress: Progress | None,
                    library: str | None) -> PublishReport:
    """The publish itself, holding the folder's lock (``checked``: models loaded already)."""
    old = read_manifest(out)
    version = template_version()
    fresh = old.version == version and old.svg == use_svg
    changed = [rel for rel, src in sources.items()
               if not fresh or rel not in old.entries or old.entries[rel].hash != src.hash]
    todo = [rel for rel in changed if rel not in checked]
    count = workers if workers is not None else default_workers(len(todo))
    models = {rel: checked[rel] for rel in changed if rel in checked}
    models.update(_load_all(todo, sources, count, progress, library))
    by_abs = {os.path.normpath(os.path.abspath(s.path)): rel for rel, s in sources.items()}
    entries = {rel: _entry(sources[rel], models[rel], by_abs) if rel in models
               else old.entries[rel] for rel in sources}
    keys = _keys(entries, sources, f"{version}:{use_svg}")
    stale = [rel for rel in sources if rel in models or keys[rel] != old.entries[rel].key
             or any(not (out / o).is_file() for o in old.entries[rel].outputs)]
    models.update(_load_all([rel for rel in stale if rel not in models], sources, 1, None,
                            library))
    for rel in sources:
        entries[rel].key = keys[rel]

    report = PublishReport(out_dir=str(out), svg=use_svg)
    count = workers if workers is not None else default_workers(len(stale))
    rendered = _render_all(stale, models, entries, use_svg, count, progress, report)
    _write_site(out, rendered, entries, sources, old, report)
    manifest = dump_manifest(Manifest(version, use_svg, entries))
    if read_bytes(site_path(out, MANIFEST_NAME)) != manifest:
        write_atomic(site_path(out, MANIFEST_NAME), manifest)

    report.procedures = sum(not e.library for e in entries.values())
    report.shared = len(entries) - report.procedures
    report.rendered = sorted(rendered)
    report.unchanged = sorted(set(sources) - set(rendered))
    report.written.sort()
    return report
