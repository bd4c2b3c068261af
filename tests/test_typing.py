"""The SDK's types, as a user's type checker sees them: every example program and
tests/typecheck/typed_program.py pass ``mypy --strict``; misspelt keywords and values the engine
rejects (``databse=``, ``exec_order="nonlinear"``) fail it. And the SDK's two spellings of each
resource's inputs (``XArgs`` fields, ``X(...)`` keywords) agree with each other, with the
provider's input keys and with the engine's option values.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import inspect
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, get_args

import pytest

from pulumi_migrations import (
    AtlasMigrationManifests,
    AtlasMigrationManifestsArgs,
    Database,
    DatabaseArgs,
    Driver,
    ExecOrder,
    LintLevel,
    Migration,
    MigrationArgs,
    MigrationDirectory,
    MigrationDirectoryArgs,
    TxMode,
)
from pulumi_migrations import database as sdk_database
from pulumi_migrations_provider import reports, target
from pulumi_migrations_provider.lint import findings as lint_findings
from pulumi_migrations_provider.providers import database as database_provider
from pulumi_migrations_provider.providers import migration as migration_provider

ROOT = Path(__file__).resolve().parents[1]
TYPECHECK = ROOT / "tests" / "typecheck"
EXAMPLES = ("quickstart", "postgres", "tenants", "kubernetes")

# Programs that must fail, each with the error mypy must report on its last line.
PREAMBLE = """\
import pulumi
from pulumi_migrations import (AtlasMigrationManifests, Database, Migration, MigrationArgs,
                               MigrationDirectory)
db = Database("db", url="sqlite://app.db")
migrations = MigrationDirectory("migrations", path="migrations")
"""
MUST_FAIL = {
    "misspelt-keyword": ('Migration("app", databse=db, directory=migrations)',
                         'Unexpected keyword argument "databse" for "Migration"'),
    "exec-order": ('Migration("app", database=db, directory=migrations, exec_order="nonlinear")',
                   'Argument "exec_order" to "Migration" has incompatible type '
                   '"Literal[\'nonlinear\']"'),
    "tx-mode": ('Migration("app", database=db, directory=migrations, tx_mode="files")',
                'Argument "tx_mode" to "Migration" has incompatible type "Literal[\'files\']"'),
    "args-exec-order": ('MigrationArgs(url="sqlite://a.db", dir="m", exec_order="nonlinear")',
                        'Argument "exec_order" to "MigrationArgs" has incompatible type'),
    "lock-timeout": ('Migration("app", database=db, directory=migrations, lock_timeout=[10])',
                     'Argument "lock_timeout" to "Migration" has incompatible type "list[int]"'),
    "driver": ('Database("pg", driver="oracle", host="h")',
               'Argument "driver" to "Database" has incompatible type "Literal[\'oracle\']"'),
    "directory-type": ('Migration("app", database=db, directory="migrations")',
                       'Argument "directory" to "Migration" has incompatible type "str"'),
    "output-type": ('v: pulumi.Output[int] = Migration("app", url="sqlite://a.db", '
                    'dir="m").applied_version',
                    'Incompatible types in assignment (expression has type "Output[str | None]", '
                    'variable has type "Output[int]")'),
    "manifests-exec-order": ('AtlasMigrationManifests("h", directory="m", url="sqlite://a.db", '
                             'exec_order="nonlinear")',
                             'Argument "exec_order" to "AtlasMigrationManifests" has '
                             'incompatible type'),
    "manifests-keyword": ('AtlasMigrationManifests("h", directory="m", url="sqlite://a.db", '
                          'namespaces="prod")',
                          'Unexpected keyword argument "namespaces" for "AtlasMigrationManifests"'),
}
_ERROR = re.compile(r"^(?P<file>[^:\n]+):(?P<line>\d+): error: (?P<message>.*?)(  \[[a-z-]+\])?$",
                    re.M)


@pytest.fixture(scope="module")
def mypy_errors(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple[int, str]]]:
    """Run mypy --strict once over the examples, the typed program and the MUST_FAIL programs;
    return each program's errors as (line, message), keyed by program name."""
    assert importlib.util.find_spec("mypy"), "mypy comes with the test extra: pip install -e '.[test]'"
    work = tmp_path_factory.mktemp("typecheck")
    programs = {"typed_program": TYPECHECK / "typed_program.py"}
    for name in EXAMPLES:  # each is a __main__.py: copied under distinct module names
        programs[f"example_{name}"] = Path(shutil.copy(ROOT / "examples" / name / "__main__.py",
                                                       work / f"example_{name}.py"))
    for case, (code, _) in MUST_FAIL.items():
        program = work / f"fails_{case.replace('-', '_')}.py"
        program.write_text(PREAMBLE + code + "\n")
        programs[case] = program
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(TYPECHECK / "mypy.ini"),
         "--cache-dir", str(ROOT / ".mypy_cache"), "--no-error-summary",
         *map(str, programs.values())],
        capture_output=True, text=True, timeout=600, cwd=work, check=False)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr  # 2: mypy itself failed
    by_path = {Path(p).resolve(): name for name, p in programs.items()}
    errors: dict[str, list[tuple[int, str]]] = {name: [] for name in programs}
    for m in _ERROR.finditer(proc.stdout):
        path = (work / m["file"]).resolve()
        assert path in by_path, f"mypy reports errors outside the programs:\n{proc.stdout}"
        errors[by_path[path]].append((int(m["line"]), m["message"]))
    return errors


@pytest.mark.parametrize("program", ["typed_program", *(f"example_{n}" for n in EXAMPLES)])
def test_programs_pass_mypy_strict(mypy_errors: dict[str, list[tuple[int, str]]],
                                   program: str) -> None:
    assert mypy_errors[program] == []


@pytest.mark.parametrize("case", list(MUST_FAIL))
def test_mistakes_fail_mypy(mypy_errors: dict[str, list[tuple[int, str]]], case: str) -> None:
    last_line = PREAMBLE.count("\n") + 1
    expected = MUST_FAIL[case][1]
    assert [(line, expected in message) for line, message in mypy_errors[case]] == \
        [(last_line, True)], mypy_errors[case]


# --- the SDK's spellings agree -------------------------------------------------------------------

RESOURCES = [(Migration, MigrationArgs), (Database, DatabaseArgs),
             (MigrationDirectory, MigrationDirectoryArgs),
             (AtlasMigrationManifests, AtlasMigrationManifestsArgs)]
NOT_INPUTS = {AtlasMigrationManifests: {"provider"}}  # keywords that are not XArgs fields


def _optional(annotation: str) -> set[str]:
    """The spellings of an annotation's Optional form (a required field is an optional keyword:
    ``args`` may give it instead). Annotations are compared as written (the modules use
    ``from __future__ import annotations``; ``pulumi.Input`` cannot be evaluated outside pulumi)."""
    spellings = {annotation, f"Optional[{annotation}]"}
    if annotation.startswith("Union[") or annotation.startswith("Optional["):
        spellings.add(annotation[:-1] + ", None]")
    return spellings


@pytest.mark.parametrize("resource, args_class", RESOURCES, ids=[r.__name__ for r, _ in RESOURCES])
def test_keywords_are_the_args_fields(resource: type, args_class: type) -> None:
    """What _util.resolve_args relies on: keyword-only parameters = fields, same types and
    defaults; and the (resource_name, args, opts) head of generated SDKs."""
    signature = inspect.signature(resource.__init__)
    params = list(signature.parameters.values())
    assert [p.name for p in params[:4]] == ["self", "resource_name", "args", "opts"]
    keywords = {p.name: p for p in params if p.kind is p.KEYWORD_ONLY
                and p.name not in NOT_INPUTS.get(resource, set())}
    fields = {f.name: f for f in dataclasses.fields(args_class)}
    assert list(keywords) == list(fields)
    hints = resource.__init__.__annotations__
    for name, field in fields.items():
        written = args_class.__annotations__[name]
        if field.default is dataclasses.MISSING:
            assert hints[name] in _optional(written), name
        else:
            assert hints[name] == written, name
        default = None if field.default is dataclasses.MISSING else field.default
        assert keywords[name].default == default, name


@pytest.mark.parametrize("args_class", [a for _, a in RESOURCES], ids=lambda a: a.__name__)
def test_every_input_is_documented(args_class: type) -> None:
    doc = args_class.__doc__ or ""
    undocumented = [f.name for f in dataclasses.fields(args_class)
                    if f":param {f.name}:" not in doc]
    assert undocumented == []


def test_literals_are_the_engines_values() -> None:
    assert get_args(ExecOrder) == reports.EXEC_ORDERS
    assert get_args(TxMode) == reports.TX_MODES
    assert get_args(Driver) == tuple(target._DRIVER_NAMES)
    assert set(get_args(LintLevel)) == set(lint_findings._LEVELS)


def test_migration_inputs_are_the_providers() -> None:
    sent = {f.name for f in dataclasses.fields(MigrationArgs)} - {"database", "directory"}
    assert sent | {"url", "dir"} == set(migration_provider.INPUT_KEYS)


def test_database_inputs_are_the_providers() -> None:
    sent = {f.name for f in dataclasses.fields(DatabaseArgs)} - set(sdk_database.URL_PARTS)
    assert sent | {"url"} == set(database_provider.INPUT_KEYS)
