"""Start-up cost of a no-op ``apply``: what a fresh interpreter imports, and the plain classes
that replaced the dataclasses on that path (``_record``).

``import dataclasses`` alone costs ~6 ms (it imports ``inspect``, ``ast``, ``dis``, ...), and
the issue's target for a no-op apply over 2,000 files is 3x dbmate (see tests/bench/README.md).
A no-op run must not even load the modules that apply files (executor, events, lex).
"""

from __future__ import annotations

import copy
import json
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from pulumi_migrations_provider.errors import ConfigError
from pulumi_migrations_provider.migdir import MigrationFile
from pulumi_migrations_provider.plan import Plan
from pulumi_migrations_provider.reports import ApplyReport, Options, StatusReport, TargetInfo
from pulumi_migrations_provider.revisions import Revision
from pulumi_migrations_provider.sumfile import HashFile
from pulumi_migrations_provider.target import Target
from tests.dirtools import make_dir

NEVER_AT_START = ("dataclasses", "inspect", "typing", "json", "rich", "psycopg", "pymysql",
                  "sqlalchemy", "pulumi", "yaml")
MARKER = "--modules--"

# Runs the CLI in-process, then prints every module it loaded (after the CLI's own output).
CLI_WRAPPER = f"""
import sys
from pulumi_migrations_provider import cli
try:
    cli.main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
print({MARKER!r}, code, *sorted(sys.modules))
"""


def loaded(top: set[str], names: tuple[str, ...]) -> list[str]:
    """The names in ``names`` loaded as a module or as a package's submodule."""
    return [n for n in names if n in top or any(m.startswith(n + ".") for m in top)]


def test_importing_the_engine_and_the_cli_stays_light() -> None:
    code = ("import sys, pulumi_migrations_provider.engine, pulumi_migrations_provider.cli; "
            "print(*sorted(sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)
    modules = set(proc.stdout.split())
    assert "pulumi_migrations_provider.engine" in modules
    assert loaded(modules, NEVER_AT_START) == []


def run_cli(*args: str) -> tuple[int, str, set[str]]:
    proc = subprocess.run([sys.executable, "-c", CLI_WRAPPER, *args], capture_output=True,
                          text=True, timeout=60, check=False)
    out, sep, tail = proc.stdout.rpartition(MARKER)
    assert sep, proc.stdout + proc.stderr
    code, *modules = tail.split()
    return int(code), out, set(modules)


def test_a_no_op_apply_loads_no_dataclasses(tmp_path: Path) -> None:
    d = make_dir(tmp_path, {"1_a.sql": "CREATE TABLE a (id int);\n",
                            "2_b.sql": "CREATE TABLE b (id int);\n"})
    argv = ("apply", "--dir", str(d), "--url", f"sqlite://{tmp_path / 'app.db'}")

    code, out, modules = run_cli(*argv)  # applies: the executor loads
    assert code == 0 and "-- 2 migrations" in out, out
    assert "pulumi_migrations_provider.executor" in modules  # the wrapper sees lazy imports

    code, out, modules = run_cli(*argv)  # nothing pending
    assert code == 0 and "No migration files to execute" in out, out
    assert "pulumi_migrations_provider.engine" in modules
    assert loaded(modules, ("pulumi_migrations_provider.executor", "pulumi_migrations_provider.lex",
                            "pulumi_migrations_provider.events") + NEVER_AT_START) == []


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_status_loads_pglast_only_to_lint_postgresql(tmp_path: Path, dialect: str,
                                                     request: pytest.FixtureRequest) -> None:
    """``status`` lints the pending files; PostgreSQL's parser (pglast, ~35 ms to import, more
    than half of a SQLite ``status`` on top of sqlglot) is loaded only for PostgreSQL."""
    d = make_dir(tmp_path, {"1_a.sql": "CREATE TABLE a (id int);\n",
                            "2_b.sql": "ALTER TABLE a ADD COLUMN b int NOT NULL;\n"})
    url = (f"sqlite://{tmp_path / 'app.db'}" if dialect == "sqlite"
           else request.getfixturevalue("pg_url"))
    code, out, modules = run_cli("status", "--dir", str(d), "--url", url)
    assert code == 0 and "Pending Files:   2" in out, out
    assert "pulumi_migrations_provider.lint.analyzers" in modules, out
    assert (loaded(modules, ("pglast",)) == []) == (dialect == "sqlite"), out


# --- the plain classes keep their dataclass behaviour ----------------------------------------


def frozen_values() -> list[object]:
    return [
        MigrationFile("1_a_b.sql", b"SELECT 1;\n"),
        HashFile("total", (("1_a.sql", "hash"),)),
        Target.parse("postgres://u:s3cret@h:5432/db?sslmode=disable"),
        Options(tx_mode="none", amount=2),
        TargetInfo("sqlite", "3.45", "sqlite", "main", "main.atlas_schema_revisions"),
    ]


@pytest.mark.parametrize("value", frozen_values(), ids=lambda v: type(v).__name__)
def test_frozen_classes_are_immutable_hashable_and_copyable(value: object) -> None:
    same = copy.copy(value)
    assert same == value and hash(same) == hash(value) and len({value, same}) == 1
    assert pickle.loads(pickle.dumps(value)) == value == copy.deepcopy(value)
    assert value != 1 and value != object()
    with pytest.raises(AttributeError):
        value.anything = 1  # type: ignore[attr-defined]
    field = type(value)._fields[0]  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        setattr(value, field, getattr(value, field))
    with pytest.raises(AttributeError):
        delattr(value, field)


def test_mutable_classes_compare_by_value_and_are_unhashable() -> None:
    for make in (lambda: Revision("1", "a", applied=1, total=2, partial_hashes=["h1:x"]),
                 lambda: Plan(pending=[MigrationFile("1.sql", b"")]),
                 lambda: StatusReport("OK", None, None, None, None, 0),
                 lambda: ApplyReport(None, "1", "1", applied=["1.sql"])):
        a, b = make(), make()
        assert a == b and not a != b and a != 1
        with pytest.raises(TypeError):
            hash(a)
        assert pickle.loads(pickle.dumps(a)) == a == copy.deepcopy(a)
    assert Plan().pending is not Plan().pending  # a fresh list per instance, not a shared default


def test_reprs_are_dataclass_style_and_hide_secrets() -> None:
    f = MigrationFile("1_a_b.sql", b"SELECT 1;\n")
    assert repr(f) == "MigrationFile(name='1_a_b.sql', version='1', description='a_b')"
    assert f != MigrationFile("1_a_b.sql", b"SELECT 2;\n")  # data is compared, not shown
    t = Target.parse("postgres://u:s3cret@h:5432/db")
    assert repr(t) == ("Target(dialect='postgresql', scheme='postgres', host='h', port=5432, "
                       "user='u', database='db', params=())")
    assert t != Target.parse("postgres://u:other@h:5432/db")  # the password is compared
    assert repr(Revision("1", "d")) == (
        "Revision(version='1', description='d', type=2, applied=0, total=0, executed_at=None, "
        "execution_time=0, error='', error_stmt='', hash='', partial_hashes=None, "
        "operator_version='')")
    assert repr(Plan()) == "Plan(pending=[], out_of_order=[], baseline=None, partial=None, remaining=[])"


def test_cached_properties_still_work_on_the_frozen_classes() -> None:
    f = MigrationFile("1_a.sql", b"-- atlas:txmode none\n\nSELECT 1;\n")
    assert (f.txmode, f.sum_ignored, f.txmode) == ("none", False, "none")
    assert f == MigrationFile("1_a.sql", b"-- atlas:txmode none\n\nSELECT 1;\n")  # caches aside
    hf = HashFile.compute([f])
    assert hf.hash_of("1_a.sql") == hf.entries[0][1] and hf.hash_of("2_b.sql") is None


def test_options_replace_and_revision_copy() -> None:
    o = Options(exec_order="non-linear", amount=3)
    skip = o.replace(exec_order="linear-skip")
    assert (skip.exec_order, skip.amount, o.exec_order) == ("linear-skip", 3, "non-linear")
    assert o.replace() == o and o.replace() is not o
    with pytest.raises(ConfigError, match="to-version and an amount"):
        o.replace(to_version="2")  # validated like the constructor
    with pytest.raises(TypeError):
        o.replace(nope=1)
    r = Revision("1", "a", partial_hashes=["h1:x"])
    c = r.copy(applied=1)
    assert (c.applied, r.applied, c.partial_hashes) == (1, 0, ["h1:x"])
    with pytest.raises(TypeError):
        r.copy(nope=1)


def test_migration_file_replace_recomputes_the_derived_fields() -> None:
    f = MigrationFile("1_a.sql", b"-- atlas:txmode none\n\nSELECT 1;\n")
    assert f.txmode == "none"  # cached in f's __dict__: the copy must not inherit it
    g = f.replace(name="20_b_c.sql", data=b"SELECT 2;\n")
    assert (g.name, g.version, g.description, g.data, g.txmode) == (
        "20_b_c.sql", "20", "b_c", b"SELECT 2;\n", None)
    assert f.replace() == f and f.replace() is not f
    assert f.replace(data=b"") == MigrationFile("1_a.sql", b"")
    for derived in ("version", "description"):
        with pytest.raises(TypeError, match=derived):
            f.replace(**{derived: "2"})
    with pytest.raises(TypeError):
        f.replace(nope=1)


def test_record_asdict_and_replace_copy_lists() -> None:
    s = StatusReport("PENDING", "1", "2", "2", "2", 1, pending=["2_b.sql"])
    d = s._asdict()
    assert list(d) == list(StatusReport._fields) and d["pending"] == s.pending
    assert d["pending"] is not s.pending
    r = s.replace(status="OK")
    assert (r.status, r.pending, s.status) == ("OK", ["2_b.sql"], "PENDING")
    assert r.pending is not s.pending
    assert TargetInfo("sqlite", "3", "sqlite", "main", "t")._asdict() == TargetInfo(
        "sqlite", "3", "sqlite", "main", "t").to_dict()


def test_report_dicts_keep_the_field_order() -> None:
    s = StatusReport("PENDING", "1", "2", "2", "2", 1, pending=["2_b.sql"])
    d = s.to_dict()
    assert json.dumps(d) == (
        '{"status": "PENDING", "current_version": "1", "next_version": "2", '
        '"latest_version": "2", "target_version": "2", "executed": 1, "pending": ["2_b.sql"], '
        '"out_of_order": [], "partial": false, "applied_statements": 0, "total_statements": 0, '
        '"error": null, "error_statement": null, "revisions_table": "", "table_exists": false}')
    assert d["pending"] is not s.pending  # lists are copied, as dataclasses.asdict did
    assert list(ApplyReport(None, None, None).to_dict()) == [
        "from_version", "current_version", "target_version", "applied", "pending", "statements",
        "duration_ns", "dry_run", "baseline_written", "accepted"]
    assert TargetInfo("sqlite", "3", "sqlite", "main", "t").to_dict() == {
        "dialect": "sqlite", "server_version": "3", "flavor": "sqlite",
        "revisions_schema": "main", "revisions_table": "t"}


def test_records_are_only_the_no_op_paths_classes(tmp_path: Path) -> None:
    """``Record``/``FrozenRecord`` are for the classes a no-op apply loads; anywhere else a
    dataclass is the house style. Every subclass in the package lives in a module the no-op run
    imports (a new Record elsewhere fails here)."""
    import importlib
    import pkgutil

    import pulumi_migrations_provider as pkg
    from pulumi_migrations_provider._record import FrozenRecord, Record

    for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
        if info.name.endswith("__main__"):
            continue
        importlib.import_module(info.name)

    def subclasses(cls: type) -> set[type]:
        out = set(cls.__subclasses__())
        for c in list(out):
            out |= subclasses(c)
        return out

    records = (subclasses(Record) | subclasses(FrozenRecord)) - {FrozenRecord}
    assert records, "no Record subclasses found"
    d = make_dir(tmp_path, {"1_a.sql": "CREATE TABLE a (id int);\n"})
    argv = ("apply", "--dir", str(d), "--url", f"sqlite://{tmp_path / 'app.db'}")
    run_cli(*argv)
    code, out, modules = run_cli(*argv)
    assert code == 0 and "No migration files to execute" in out, out
    elsewhere = sorted(f"{c.__module__}.{c.__qualname__}" for c in records if c.__module__ not in modules)
    assert elsewhere == []


#: Loaded by the console script before the CLI (``console.run`` installs the interrupt handlers
#: first), so on every start, though ``run_cli`` (which calls ``cli.main``) does not see them.
CONSOLE_SCRIPT_MODULES = ("pulumi_migrations_provider.console",
                          "pulumi_migrations_provider.interrupts")


def test_the_type_checking_stand_in_is_only_on_the_no_op_path(tmp_path: Path) -> None:
    """``TYPE_CHECKING = False`` (``typing.TYPE_CHECKING`` without importing ``typing``) is a
    start-up measure: only the modules a no-op apply loads may use it; everywhere else
    ``from typing import TYPE_CHECKING`` is the house style (a copy elsewhere fails here)."""
    package = Path(__file__).resolve().parents[1] / "provider" / "pulumi_migrations_provider"
    users = set()
    for path in package.rglob("*.py"):
        if any(line.startswith("TYPE_CHECKING = False") for line in path.read_text().splitlines()):
            parts = path.relative_to(package.parent).with_suffix("").parts
            users.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    assert "pulumi_migrations_provider.cli" in users  # the check reads what it should
    d = make_dir(tmp_path, {"1_a.sql": "CREATE TABLE a (id int);\n"})
    argv = ("apply", "--dir", str(d), "--url", f"sqlite://{tmp_path / 'app.db'}")
    run_cli(*argv)
    code, out, modules = run_cli(*argv)
    assert code == 0 and "No migration files to execute" in out, out
    assert sorted(users - modules - set(CONSOLE_SCRIPT_MODULES)) == []
