"""Install what you use: pyproject.toml's dependencies are exactly what the engine and the CLI
import, the extras cover what the SDK and the providers import, and a missing extra is a
one-line ``MissingDependencyError`` naming it (the CLI needs none).

A missing package is simulated the way Python itself knows it: ``sys.modules[name] = None``
makes ``import name`` raise ``ModuleNotFoundError``. The real thing (a fresh virtualenv with
``pip install .``) is too slow for the suite; README's Install section gives its figures.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pulumi_migrations_provider import errors
from tests.dirtools import make_dir

ROOT = Path(__file__).resolve().parents[1]
ENGINE = ROOT / "provider" / "pulumi_migrations_provider"
SDK = ROOT / "sdk" / "python" / "pulumi_migrations"
OURS = {"pulumi_migrations", "pulumi_migrations_provider"}
EXTRAS = ("pulumi", "pulumi_kubernetes", "sqlalchemy")  # what the CLI must run without


def _canonical(dist: str) -> str:
    return re.sub(r"[-_.]+", "-", dist).lower()


def _project() -> dict[str, list[str]]:
    """Base dependencies (key "") and each extra, as canonical distribution names; a
    requirement on this project with extras counts as those extras' names (``+pulumi``)."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    groups = {"": project["dependencies"], **project["optional-dependencies"]}
    parsed: dict[str, list[str]] = {}
    for group, requirements in groups.items():
        parsed[group] = []
        for requirement in requirements:
            m = re.match(r"([A-Za-z0-9._-]+)\s*(?:\[([^\]]*)\])?", requirement)
            assert m, requirement
            name, extras = _canonical(m[1]), m[2] or ""
            if name == "pulumi-migrations":
                parsed[group] += [f"+{e.strip()}" for e in extras.split(",")]
            else:
                parsed[group].append(name)
    return parsed


def _imports(files: list[Path]) -> dict[str, set[str]]:
    """Third-party top-level modules imported anywhere in ``files`` (inside functions too),
    each with the files importing it."""
    found: dict[str, set[str]] = {}
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in OURS:
                    found.setdefault(top, set()).add(path.relative_to(ROOT).as_posix())
    return found


def _dists(modules: dict[str, set[str]]) -> dict[str, set[str]]:
    by_module = importlib.metadata.packages_distributions()
    return {_canonical(by_module[m][0]): files for m, files in modules.items()}


def test_the_dependencies_are_what_the_engine_and_the_cli_import() -> None:
    engine = [p for p in ENGINE.rglob("*.py") if "providers" not in p.parts]
    used = _dists(_imports(engine))
    assert sorted(used) == sorted(_project()[""]), used


def test_the_sdk_and_the_providers_need_only_the_pulumi_extras() -> None:
    groups = _project()
    allowed = set(groups[""]) | set(groups["pulumi"]) | set(groups["kubernetes"])
    used = _dists(_imports(list(SDK.rglob("*.py")) + list((ENGINE / "providers").rglob("*.py"))))
    assert set(used) <= allowed, used
    # pulumi-kubernetes is imported through extras.require only (so a missing one is named).
    assert "pulumi-kubernetes" not in used


def test_the_test_extra_installs_every_extra() -> None:
    groups = _project()
    assert groups["kubernetes"][0] == "+pulumi"
    test = groups["test"]
    assert "+pulumi" in test and "+kubernetes" in test  # make venv: -e '.[test]'
    assert "sqlalchemy" in test and "mypy" in test  # what only the tests import


def test_every_package_is_installed() -> None:
    """A non-editable ``pip install .`` ships only the packages pyproject.toml lists (an
    editable install would hide a missing one)."""
    tomllib = pytest.importorskip("tomllib")
    listed = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    on_disk = sorted(
        ".".join((root, *init.parent.relative_to(path).parts))
        for root, path in (("pulumi_migrations_provider", ENGINE), ("pulumi_migrations", SDK))
        for init in path.rglob("__init__.py"))
    assert sorted(listed) == on_disk


def _python(code: str, *blocked: str) -> subprocess.CompletedProcess[str]:
    block = f"import sys; sys.modules.update(dict.fromkeys({list(blocked)!r}))\n"
    return subprocess.run([sys.executable, "-c", block + code], capture_output=True, text=True,
                          timeout=120, check=False, cwd=ROOT)


def test_the_cli_runs_without_the_extras(tmp_path: Path) -> None:
    d = make_dir(tmp_path, {"1_a.sql": "CREATE TABLE a (id int);\n"})
    url = f"sqlite://{tmp_path / 'app.db'}"
    code = f"""
from pulumi_migrations_provider import cli
for argv in (["apply", "--dir", {str(d)!r}, "--url", {url!r}],
             ["status", "--dir", {str(d)!r}, "--url", {url!r}],
             ["manifests", "--dir", {str(d)!r}, "--name", "app", "--url-secret", "db"]):
    try:
        cli.main(argv)
    except SystemExit as exit:
        assert not exit.code, (argv, exit.code)
print("loaded:", *sorted(m for m in {EXTRAS!r} if sys.modules.get(m)))
"""
    proc = _python(code, *EXTRAS)
    assert proc.returncode == 0, proc.stderr
    assert "Migration Status: OK" in proc.stdout and "kind: AtlasMigration" in proc.stdout
    assert proc.stdout.rstrip().endswith("loaded:"), proc.stdout


@pytest.mark.parametrize("code, needed_for", [
    ("import pulumi_migrations", "importing pulumi_migrations (the Pulumi SDK)"),
    ("from pulumi_migrations_provider import MigrationProvider",
     "loading the pulumi-migrations providers"),
], ids=["sdk", "providers"])
def test_without_pulumi_the_error_names_the_extra(code: str, needed_for: str) -> None:
    proc = _python(code, "pulumi")
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last == (f"pulumi_migrations_provider.errors.MissingDependencyError: {needed_for}: "
                    "the Python package 'pulumi' is not installed; install it with "
                    "pip install 'pulumi-migrations[pulumi]'")
    assert "During handling" not in proc.stderr  # raised from None: one error, not two


def test_the_kubernetes_component_names_its_extra(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import pulumi

    from pulumi_migrations import AtlasMigrationManifests

    class Mocks(pulumi.runtime.Mocks):
        def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
            raise AssertionError(f"registered {args.name} although pulumi-kubernetes is missing")

        def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, None]:
            return {}, None

    pulumi.runtime.set_mocks(Mocks(), project="install", stack="test")
    d = make_dir(tmp_path, {"1_a.sql": "CREATE TABLE a (id int);\n"})
    monkeypatch.setitem(sys.modules, "pulumi_kubernetes", None)
    with pytest.raises(errors.MissingDependencyError) as caught:
        AtlasMigrationManifests("app", directory=d, url_secret="db")
    assert caught.value.extra == "kubernetes" and caught.value.module == "pulumi_kubernetes"
    assert str(caught.value) == (
        "creating AtlasMigrationManifests: the Python package 'pulumi_kubernetes' is not "
        "installed; install it with pip install 'pulumi-migrations[kubernetes]'")
    assert isinstance(caught.value, ImportError)
