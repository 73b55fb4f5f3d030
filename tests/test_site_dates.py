"""Issue 23 (6): the published index dates each SOP by its last commit when the SOPs
live in git (a fresh clone gives every file today's time), by the file's time when it
changed since, was never committed, or there is no repository."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from render_support import SOPS

from opsflow.render import publish
from opsflow.render.gitdates import last_changes

GIT = shutil.which("git")
#: 2021-03-04 12:00 UTC, a time no test machine's clock shows
FILE_TIME = 1614859200


def git(folder: Path, *args: str, date: str = "") -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_SYSTEM": os.devnull}
    if date:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = date
    assert GIT is not None
    subprocess.run([GIT, *args], cwd=folder, env=env, check=True, capture_output=True)


def dates_on_index(site: Path) -> dict[str, str]:
    html = (site / "index.html").read_text("utf-8")
    rows = re.findall(r'<td data-label="Last change">([^<]*)</td><td data-label="Source">'
                      r"<code>([^<]*)</code>", html)
    return {source: date for date, source in rows}


def test_dates_come_from_git_commits(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    sops = repo / "procedures"
    shutil.copytree(SOPS, sops)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "first", date="2020-01-02T10:00:00+00:00")
    (sops / "purchase-request.sop").write_text(
        (sops / "purchase-request.sop").read_text("utf-8") + "\n# a later change\n", "utf-8")
    git(repo, "commit", "-q", "-am", "second", date="2020-06-30T23:30:00+00:00")
    # changed since the last commit / never committed: the file's own time
    changed = sops / "incident-response.sop"
    changed.write_text(changed.read_text("utf-8") + "\n# not committed yet\n", "utf-8")
    new = sops / "extra.sop"
    new.write_text((sops / "content-publishing.sop").read_text("utf-8").replace(
        "sop content-publishing", "sop extra"), "utf-8")
    for path in (changed, new):
        os.utime(path, (FILE_TIME, FILE_TIME))
    site = tmp_path / "site"
    publish([sops], site, svg=False)
    dates = dates_on_index(site)
    assert dates["content-publishing.sop"] == "2020-01-02"
    assert dates["purchase-request.sop"] == "2020-06-30"
    assert dates["incident-response.sop"] == "2021-03-04"
    assert dates["extra.sop"] == "2021-03-04"
    assert "(last change 2020-01-02)" in (site / "index.html").read_text("utf-8")  # shared


def test_outside_a_repository_the_file_time_counts(tmp_path: Path) -> None:
    sops = tmp_path / "plain"
    shutil.copytree(SOPS, sops)
    for path in sops.rglob("*.sop"):
        os.utime(path, (FILE_TIME, FILE_TIME))
    assert set(last_changes(sops, ["content-publishing.sop", "shared/company-roles.sop"])
               .values()) == {"2021-03-04"}
    site = tmp_path / "site"
    publish([sops], site, svg=False)
    assert set(dates_on_index(site).values()) == {"2021-03-04"}
