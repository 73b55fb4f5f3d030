"""`publish` owns only what it wrote: foreign folders, symbolic links, a
tampered manifest, two publishes at once, and a killed publish's workers.

Real folders and links in tmp_path, real processes for the concurrency and
kill tests. Error texts are asserted in full.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from render_support import SOPS

from opsflow.cli import cli
from opsflow.render import PublishError, publish
from opsflow.render.manifest import MANIFEST_NAME

ROOT = Path(__file__).parent.parent


@pytest.fixture
def library(tmp_path: Path) -> Path:
    folder = tmp_path / "sops"
    shutil.copytree(SOPS, folder)
    return folder


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.is_symlink()}


def test_a_folder_publish_did_not_make_is_refused_unless_forced(library: Path,
                                                                tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "index.html").write_text("my own home page")
    (mine / "style.css").write_text("body { color: red }")
    with pytest.raises(PublishError) as caught:
        publish([library], mine)
    assert str(caught.value) == (
        f"{mine} is not empty and was not made by `opsflow publish`; choose an empty or new "
        "output folder (--out), or pass --force to publish into it and overwrite its "
        "index.html, style.css and pages/")
    assert tree(mine) == {"index.html": b"my own home page", "style.css": b"body { color: red }"}
    result = CliRunner().invoke(cli, ["publish", str(library), "--out", str(mine)])
    assert result.exit_code == 1 and result.output == f"error: {caught.value}\n"
    report = publish([library], mine, force=True)
    assert "index.html" in report.written
    assert publish([library], mine).written == []  # now it is a site: no --force needed


def test_an_empty_folder_is_fine(library: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "index.html" in publish([library], empty).written


def test_never_writes_through_a_symlinked_pages_folder(library: Path, tmp_path: Path) -> None:
    site, elsewhere = tmp_path / "site", tmp_path / "elsewhere"
    elsewhere.mkdir()
    publish([library], site)
    shutil.rmtree(site / "pages")
    (site / "pages").symlink_to(elsewhere)
    before = tree(site)
    with pytest.raises(PublishError) as caught:
        publish([library], site)
    assert str(caught.value) == (f"refusing to write {site}/pages: it is a symbolic link and "
                                 f"publish writes only inside {site}; remove the link and "
                                 "publish again")
    assert list(elsewhere.iterdir()) == []
    assert tree(site) == before  # nothing half-written


def test_a_tampered_manifest_and_a_symlink_never_delete_outside(library: Path, tmp_path: Path
                                                                ) -> None:
    site, elsewhere = tmp_path / "site", tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "victim.html").write_text("keep me")
    publish([library], site)
    (site / "pages" / "link").symlink_to(elsewhere)
    manifest = site / MANIFEST_NAME
    data = json.loads(manifest.read_text())
    data["entries"]["tooling-migration.sop"]["outputs"].append("pages/link/victim.html")
    manifest.write_text(json.dumps(data))
    (library / "tooling-migration.sop").unlink()
    report = publish([library], site)
    assert "pages/tooling-migration.html" in report.removed
    assert "pages/link/victim.html" not in report.removed
    assert (elsewhere / "victim.html").read_text() == "keep me"


def test_publish_skips_a_symlink_out_of_the_folder_with_a_warning(library: Path,
                                                                  tmp_path: Path) -> None:
    (tmp_path / "secret.sop").write_text('role x "DB_PASSWORD=hunter2"\n')
    (library / "x.sop").symlink_to(tmp_path / "secret.sop")
    result = CliRunner().invoke(cli, ["publish", str(library), "--out", str(tmp_path / "s")])
    assert result.exit_code == 0 and "hunter2" not in result.output
    assert result.output.startswith(
        f"{library}/x.sop:1:1: warning[W100]: skipped {library}/x.sop: a symbolic link to a "
        f"file outside {library}\n")
    assert not list((tmp_path / "s").rglob("x.*"))


PUBLISH = "import sys; from opsflow.render import publish; publish(sys.argv[2:], sys.argv[1])"


def test_two_publishes_at_once_leave_a_consistent_site(library: Path, tmp_path: Path) -> None:
    half = tmp_path / "half"
    half.mkdir()
    for path in sorted(library.glob("*.sop"))[:3]:
        shutil.copy(path, half)
    shutil.copytree(library / "shared", half / "shared")
    site = tmp_path / "site"
    for _ in range(4):  # unlocked, the half publish finishing last orphans the full one's pages
        publish([half], site)
        procs = [subprocess.Popen([sys.executable, "-c", PUBLISH, str(site), str(src)])
                 for src in (library, half)]
        assert [p.wait(timeout=300) for p in procs] == [0, 0]
        outputs = {o for e in json.loads((site / MANIFEST_NAME).read_text())["entries"].values()
                   for o in e["outputs"]}
        pages = {str(p.relative_to(site)) for p in (site / "pages").rglob("*") if p.is_file()}
        assert pages == outputs  # no orphans, nothing missing
    assert not [p for p in site.rglob("*.tmp")]


WORKERS = """
import os, sys, time
from pathlib import Path
from opsflow.render.sitejobs import run_jobs

def job(n):
    Path(sys.argv[1], str(os.getpid())).write_text("")
    time.sleep(600)  # a job that outlives any test
    return n

if __name__ == "__main__":
    for _ in run_jobs(job, list(range(8)), 2):
        pass
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a zombie has exited; only its parent's reaping is left


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_a_killed_publish_leaves_no_workers(tmp_path: Path, sig: signal.Signals) -> None:
    script = tmp_path / "workers.py"
    script.write_text(WORKERS)
    ready = tmp_path / "ready"
    ready.mkdir()
    parent = subprocess.Popen([sys.executable, str(script), str(ready)], cwd=ROOT)
    deadline = time.monotonic() + 120
    while len(list(ready.iterdir())) < 2:
        assert parent.poll() is None and time.monotonic() < deadline, "workers never started"
        time.sleep(0.05)
    workers = [int(p.name) for p in ready.iterdir()]
    assert all(_alive(pid) for pid in workers)
    os.kill(parent.pid, sig)
    assert parent.wait(timeout=60) == -sig
    deadline = time.monotonic() + 60  # a bound for a hang, not a speed requirement
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [pid for pid in workers if _alive(pid)]
    for pid in left:  # never leave them behind, even when the test fails
        os.kill(pid, signal.SIGKILL)
    assert left == []


def _waits_for_a_lock(pid: int) -> bool:
    """True when ``pid`` is blocked on a file lock (Linux lists waiters with ``->``)."""
    return any(line.split()[1:2] == ["->"] and line.split()[5:6] == [str(pid)]
               for line in Path("/proc/locks").read_text().splitlines())


def test_a_second_publish_waits_for_the_first(library: Path, tmp_path: Path) -> None:
    from opsflow.render.files import site_lock

    site = tmp_path / "site"
    publish([library], site)
    (library / "purchase-request.sop").unlink()
    before = tree(site)
    with site_lock(site):  # this test is the first publish, half-way through
        second = subprocess.Popen([sys.executable, "-c", PUBLISH, str(site), str(library)])
        deadline = time.monotonic() + 120
        while not _waits_for_a_lock(second.pid):
            assert second.poll() is None, "the second publish did not wait for the lock"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert tree(site) == before
    assert second.wait(timeout=300) == 0
    assert not (site / "pages" / "purchase-request.html").exists()


def test_a_fifo_in_the_output_folder_never_blocks_publish(library: Path, tmp_path: Path
                                                          ) -> None:
    """Issue 20, item 7: a FIFO named .opsflow-site.json in --out hung `publish`."""
    out = tmp_path / "site"
    out.mkdir()
    os.mkfifo(out / MANIFEST_NAME)
    done = subprocess.run([sys.executable, "-m", "opsflow", "publish", str(library), "--out",
                           str(out)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (out / MANIFEST_NAME).is_file()  # the pipe was replaced by the manifest
    assert json.loads((out / MANIFEST_NAME).read_text("utf-8"))["entries"]


def test_published_files_are_readable_by_a_web_server(library: Path, tmp_path: Path) -> None:
    """Published files were 0600 (tempfile's mode for secrets): a web server running as
    another user could not serve the site."""
    out = tmp_path / "site"
    old = os.umask(0o022)
    try:
        publish([library], out)
    finally:
        os.umask(old)
    modes = {p.relative_to(out).as_posix(): p.stat().st_mode & 0o777
             for p in out.rglob("*") if p.is_file() and p.name != ".opsflow-publish.lock"}
    assert modes and set(modes.values()) == {0o644}, modes
