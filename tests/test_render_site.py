"""Publishing a folder of SOPs as a static site: pages, links, incremental
re-publishing, refusal of broken SOPs, unwritable folders, no Graphviz."""

from __future__ import annotations

import json
import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from render_support import SOPS, write_evil

from opsflow.errors import OpsflowError, SopError
from opsflow.render import PublishError, publish
from opsflow.render.files import write_atomic
from opsflow.render.manifest import MANIFEST_NAME

DAY = 1_900_000_000  # 2030-03-17, a fixed mtime so the index's dates are known


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.links.append(value)
            if name == "id" and value:
                self.ids.add(value)


def _parse(path: Path) -> _Links:
    parser = _Links()
    parser.feed(path.read_text("utf-8"))
    return parser


def broken_links(site: Path) -> list[str]:
    """Every relative link of every page that does not resolve (file or #anchor)."""
    broken = []
    for page in sorted(site.rglob("*.html")):
        for link in _parse(page).links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc:
                broken.append(f"{page}: external {link}")
                continue
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if not target.is_file():
                broken.append(f"{page}: {link}")
            elif parts.fragment and target.suffix == ".html":
                if parts.fragment not in _parse(target).ids:
                    broken.append(f"{page}: {link} (no such anchor)")
    return broken


@pytest.fixture
def library(tmp_path: Path) -> Path:
    """A copy of sops/ with fixed modification times."""
    folder = tmp_path / "sops"
    shutil.copytree(SOPS, folder)
    for path in folder.rglob("*.sop"):
        os.utime(path, (DAY, DAY))
    return folder


def snapshot(site: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(site)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(site.rglob("*")) if p.is_file()}


def includers_of(folder: Path, shared: str) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.glob("*.sop")
            if f'include "{shared}"' in p.read_text("utf-8")}


def test_site_has_index_pages_and_working_links(library: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    report = publish([library], site)
    sources = sorted(str(p.relative_to(library)) for p in library.rglob("*.sop"))
    assert report.rendered == sources and report.unchanged == []
    assert report.procedures == len(sources) - 1 and report.shared == 1
    index = (site / "index.html").read_text("utf-8")
    for path in library.glob("*.sop"):
        assert f'href="pages/{path.stem}.html"' in index
    assert index.count("2030-03-17") == len(sources)
    assert broken_links(site) == []
    assert not [p for p in site.rglob("*") if ".tmp" in p.name or "probe" in p.name]


def test_pages_link_to_the_files_they_include_and_back(library: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    publish([library], site)
    users = includers_of(library, "shared/company-roles.sop")
    assert users
    shared = (site / "pages" / "shared" / "company-roles.html").read_text("utf-8")
    for rel in users:
        assert f'href="../{rel[:-4]}.html"' in shared
        page = (site / "pages" / f"{rel[:-4]}.html").read_text("utf-8")
        assert 'href="shared/company-roles.html"' in page


def test_sop_page_has_playbook_raci_and_diagram(library: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    report = publish([library], site, svg=True)
    assert report.svg
    page = (site / "pages" / "content-publishing.html").read_text("utf-8")
    assert '<table class="raci">' in page
    assert '<img src="content-publishing.svg"' in page
    assert 'class="task-list-item"' in page
    assert (site / "pages" / "content-publishing.svg").read_text("utf-8").count("<svg") == 1
    for suffix in (".md", ".raci.csv", ".mmd", ".dot"):
        assert (site / "pages" / f"content-publishing{suffix}").is_file()


def test_republish_writes_nothing_when_nothing_changed(library: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    publish([library], site)
    before = snapshot(site)
    report = publish([library], site)
    assert report.written == [] and report.rendered == [] and report.removed == []
    assert snapshot(site) == before


def test_one_changed_sop_rewrites_only_its_pages(library: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    publish([library], site)
    before = snapshot(site)
    path = library / "incident-response.sop"
    path.write_text(path.read_text("utf-8").replace("version ", "version 9", 1), "utf-8")
    os.utime(path, (DAY, DAY))
    report = publish([library], site)
    assert report.rendered == ["incident-response.sop"]
    assert report.written and all(w.startswith("pages/incident-response.") for w in report.written)
    after = snapshot(site)
    changed = {name for name in after if after[name] != before.get(name)}
    assert changed == set(report.written) | {MANIFEST_NAME}


def test_changed_shared_file_rebuilds_its_includers(library: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    publish([library], site)
    shared = library / "shared" / "company-roles.sop"
    shared.write_text(shared.read_text("utf-8").replace('"Line manager"', '"Team lead"'), "utf-8")
    report = publish([library], site)
    expected = includers_of(library, "shared/company-roles.sop") | {"shared/company-roles.sop"}
    assert set(report.rendered) == expected
    for rel in expected - {"shared/company-roles.sop"}:
        assert "Team lead" in (site / "pages" / f"{rel[:-4]}.html").read_text("utf-8")


def test_removed_sop_loses_its_pages(library: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    publish([library], site)
    users = includers_of(library, "shared/company-roles.sop")
    (library / "tooling-migration.sop").unlink()
    report = publish([library], site)
    # the shared file's page lists who includes it
    shared = ["shared/company-roles.sop"] if "tooling-migration.sop" in users else []
    assert report.rendered == shared
    assert "index.html" in report.written
    assert sorted(report.removed) == sorted(
        f"pages/tooling-migration{s}" for s in (".dot", ".html", ".md", ".mmd", ".raci.csv",
                                                 ".svg"))
    assert not list(site.glob("pages/tooling-migration*"))
    assert broken_links(site) == []


def test_a_tampered_manifest_never_deletes_outside_the_site(library: Path, tmp_path: Path
                                                           ) -> None:
    site = tmp_path / "site"
    publish([library], site)
    victim = tmp_path / "precious.txt"
    victim.write_text("keep me")
    manifest = site / MANIFEST_NAME
    data = json.loads(manifest.read_text())
    data["entries"]["tooling-migration.sop"]["outputs"].append("../precious.txt")
    manifest.write_text(json.dumps(data))
    (library / "tooling-migration.sop").unlink()
    report = publish([library], site)
    assert "pages/tooling-migration.html" in report.removed
    assert victim.read_text() == "keep me"


def test_deleted_page_and_new_templates_trigger_a_rebuild(library: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    publish([library], site)
    (site / "pages" / "purchase-request.html").unlink()
    assert publish([library], site).rendered == ["purchase-request.sop"]
    manifest = site / MANIFEST_NAME
    manifest.write_text(re.sub(r'"version": "\w+"', '"version": "old"', manifest.read_text()))
    assert len(publish([library], site).rendered) == len(list(library.rglob("*.sop")))


def test_sop_with_errors_is_refused_and_nothing_is_written(library: Path, tmp_path: Path
                                                           ) -> None:
    bad = library / "broken.sop"
    bad.write_text('sop broken "Broken"\nphase a "A"\n  owner nobody\n  end\n', "utf-8")
    with pytest.raises(SopError) as caught:
        publish([library], tmp_path / "fresh")
    assert any(d.code == "E210" and d.span.file.endswith("broken.sop")
               for d in caught.value.diagnostics)
    assert not (tmp_path / "fresh").exists()
    site = tmp_path / "site"
    bad.unlink()
    publish([library], site)
    before = snapshot(site)
    bad.write_text('sop broken "Broken"\nphase a "A"\n  owner nobody\n  end\n', "utf-8")
    (library / "purchase-request.sop").write_text("sop x \"X\"\n  version\n", "utf-8")
    with pytest.raises(SopError) as caught:
        publish([library], site)
    files = {Path(d.span.file).name for d in caught.value.diagnostics if d.is_error}
    assert files == {"broken.sop", "purchase-request.sop"}
    assert snapshot(site) == before


def test_unwritable_output_folder_is_a_clear_error(library: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(PublishError) as caught:
        publish([library], blocker)
    assert str(caught.value) == (f"cannot write to {blocker}: it is a file, not a folder; "
                                 "choose another output folder (--out)")
    with pytest.raises(PublishError) as caught:
        publish([library], blocker / "site")
    assert str(caught.value) == (f"cannot write to {blocker / 'site'}: Not a directory; choose "
                                 "another output folder (--out) or fix its permissions")
    assert isinstance(caught.value, OpsflowError)


def test_atomic_write_leaves_no_temporary_file_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "page.html"
    target.mkdir()
    with pytest.raises(PublishError):
        write_atomic(target, b"data")
    assert [p.name for p in tmp_path.iterdir()] == ["page.html"]


def test_without_graphviz_the_flow_is_shown_in_words(library: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    site = tmp_path / "site"
    report = publish([library], site)
    assert not report.svg and not list(site.rglob("*.svg"))
    page = (site / "pages" / "content-publishing.html").read_text("utf-8")
    assert "Graphviz (<code>dot</code>) was not available" in page
    assert "When approved: if Budget in EUR is more than 10000, go to 5. Finance sign-off" in page
    assert broken_links(site) == []
    with pytest.raises(OpsflowError, match="install the `graphviz` package"):
        publish([library], tmp_path / "other", svg=True)


def test_graphviz_appearing_later_rebuilds_with_drawings(library: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    publish([library], site, svg=False)
    report = publish([library], site, svg=True)
    assert len(report.rendered) == len(list(library.rglob("*.sop")))
    assert len(list(site.rglob("*.svg"))) == report.procedures


def snapshot_bytes(site: Path) -> dict[str, bytes]:
    return {name: data for name, (data, _) in snapshot(site).items()}


def test_output_is_byte_for_byte_deterministic(library: Path, tmp_path: Path) -> None:
    write_evil(library)
    os.utime(library / "evil.sop", (DAY, DAY))
    publish([library], tmp_path / "a")
    publish([library], tmp_path / "b")
    assert snapshot_bytes(tmp_path / "a") == snapshot_bytes(tmp_path / "b")


def test_worker_processes_give_the_same_site(library: Path, tmp_path: Path) -> None:
    calls: list[tuple[str, int, int]] = []
    one = publish([library], tmp_path / "one", workers=1)
    two = publish([library], tmp_path / "two", workers=2,
                  progress=lambda *call: calls.append(call))
    assert one.written == two.written and two.graphviz_seconds > 0
    assert snapshot_bytes(tmp_path / "one") == snapshot_bytes(tmp_path / "two")
    count = len(list(library.rglob("*.sop")))
    assert [d for s, d, _ in calls if s == "Rendering"] == list(range(1, count + 1))
    bad = library / "broken.sop"
    bad.write_text('sop broken "Broken"\nphase a "A"\n  owner nobody\n  end\n', "utf-8")
    with pytest.raises(SopError, match="unknown role `nobody`"):
        publish([library], tmp_path / "three", workers=2)


def test_progress_reports_each_stage(library: Path, tmp_path: Path) -> None:
    calls: list[tuple[str, int, int]] = []
    publish([library], tmp_path / "site", progress=lambda *call: calls.append(call))
    count = len(list(library.rglob("*.sop")))
    for stage in ("Checking", "Rendering"):
        done = [d for s, d, t in calls if s == stage]
        assert done == list(range(1, count + 1))
    calls.clear()
    publish([library], tmp_path / "site", progress=lambda *call: calls.append(call))
    assert calls == []


def test_single_files_and_odd_names_publish(tmp_path: Path) -> None:
    folder = tmp_path / "src with space"
    shutil.copytree(SOPS, folder)
    (folder / "content-publishing.sop").rename(folder / "a #1?.sop")
    report = publish([folder / "a #1?.sop", folder / "purchase-request.sop"], tmp_path / "out")
    assert report.procedures == 2
    assert (tmp_path / "out" / "pages" / "a #1?.html").is_file()
    assert broken_links(tmp_path / "out") == []
