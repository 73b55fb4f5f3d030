"""The built wheel works on its own: grammar and templates ship inside it.

Builds the wheel from a copy of the source tree, installs it into a fresh
virtual environment outside the repository (dependencies come from the
package index; pip caches them), then, from a working directory outside the
repository, runs the installed ``opsflow check`` on copies of an example and
``python -m opsflow --help``, and checks that the package, its grammar and
its templates were loaded from the virtual environment.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
IGNORED = shutil.ignore_patterns(
    ".git",
    ".venv",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".*_cache",
    ".hypothesis",
    ".benchmarks",
    ".opsflow",
    "site",
    "test-artifacts",
    "node_modules",
)


def _python_packages(top: Path, name: str) -> set[str]:
    return {
        ".".join((name, *p.parent.relative_to(top).parts))
        for p in top.rglob("__init__.py")
        if "__pycache__" not in p.parts
    }


def test_every_subpackage_is_listed_for_the_wheel() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    assert sorted(_python_packages(ROOT / "opsflow", "opsflow") - listed) == []


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path
    outside: Path

    def run(self, *args: str | Path) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
        env["PATH"] = f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        return subprocess.run(
            [str(a) for a in args],
            cwd=self.outside,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )


def _run(*args: str | Path, cwd: Path) -> None:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, f"{' '.join(map(str, args))}\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    work = tmp_path_factory.mktemp("wheel")
    assert not work.resolve().is_relative_to(ROOT)
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=IGNORED)
    _run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "-w",
        work / "dist",
        source,
        cwd=work,
    )
    (wheel,) = (work / "dist").glob("opsflow-*.whl")
    venv = work / "venv"
    _run(sys.executable, "-m", "venv", venv, cwd=work)
    _run(venv / "bin" / "python", "-m", "pip", "install", "--quiet", wheel, cwd=work)
    outside = work / "elsewhere"
    shutil.copytree(ROOT / "sops", outside / "sops")
    shutil.rmtree(source)  # nothing may be found through the copy of the sources
    return Installed(wheel, venv, outside)


@pytest.mark.slow
def test_the_wheel_holds_the_grammar_and_the_templates(installed: Installed) -> None:
    names = zipfile.ZipFile(installed.wheel).namelist()
    assert "opsflow/grammar/sop.lark" in names
    templates = {n for n in names if n.startswith("opsflow/renderers/")}
    shipped = {
        "opsflow/renderers/" + p.relative_to(ROOT / "renderers").as_posix()
        for p in (ROOT / "renderers").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert shipped <= templates
    schemas = {"opsflow/schemas/" + p.name for p in (ROOT / "opsflow" / "schemas").glob("*.json")}
    assert schemas and schemas <= set(names)  # the JSON Schemas of docs/json.md
    assert not any(n.startswith(("tests/", "sops/", "grammar/", "renderers/")) for n in names)


@pytest.mark.slow
def test_installed_check_passes_on_an_example(installed: Installed) -> None:
    done = installed.run(
        installed.venv / "bin" / "opsflow", "check", "--strict", "sops/purchase-request.sop"
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.strip() == "checked 1 file: 0 errors, 0 warnings"


@pytest.mark.slow
def test_installed_check_reports_errors_in_a_broken_copy(installed: Installed) -> None:
    broken = installed.outside / "broken.sop"
    text = (installed.outside / "sops" / "content-publishing.sop").read_text("utf-8")
    broken.write_text(text.replace("  owner writer\n", "  ownr writer\n", 1), "utf-8")
    done = installed.run(installed.venv / "bin" / "opsflow", "check", broken.name)
    assert done.returncode == 1
    assert "broken.sop:19:3: error[E001]: " in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


@pytest.mark.slow
def test_python_m_opsflow_help(installed: Installed) -> None:
    done = installed.run(installed.venv / "bin" / "python", "-m", "opsflow", "--help")
    assert done.returncode == 0, done.stderr
    assert "Usage:" in done.stdout and "check" in done.stdout


@pytest.mark.slow
def test_package_grammar_and_templates_come_from_the_venv(installed: Installed) -> None:
    script = (
        "import importlib.resources as ir, opsflow, opsflow.resources as r\n"
        "print(opsflow.__file__)\n"
        "print(ir.files('opsflow.grammar').joinpath('sop.lark'))\n"
        "print(r.templates_root())\n"
        "print(len(r.grammar_text()))\n"
    )
    done = installed.run(installed.venv / "bin" / "python", "-c", script)
    assert done.returncode == 0, done.stderr
    package, grammar, templates, size = done.stdout.split("\n")[:4]
    venv = installed.venv.resolve()
    for path in (package, grammar, templates):
        assert Path(path).resolve().is_relative_to(venv), path
        assert not Path(path).resolve().is_relative_to(ROOT), path
    assert int(size) == len((ROOT / "grammar" / "sop.lark").read_text("utf-8"))


@pytest.mark.slow
def test_a_plain_install_works_when_the_checkout_shadows_it(installed: Installed) -> None:
    """Issue 7, item 5: after `pip install .` (not editable), running from the checkout
    imports the checkout's `opsflow/`, which has no `grammar` inside; it must still work."""
    script = (
        "import opsflow, opsflow.resources as r\n"
        "print(opsflow.__file__)\n"
        "sop = opsflow.load('sops/purchase-request.sop')\n"
        "print(sop.id, len(r.grammar_text()) > 0, r.templates_root().joinpath('web').is_dir())\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    done = subprocess.run([str(installed.venv / "bin" / "python"), "-c", script], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    package, loaded = done.stdout.split("\n")[:2]
    assert Path(package).resolve().is_relative_to(ROOT)  # the checkout shadows the install
    assert loaded == "purchase-request True True"
