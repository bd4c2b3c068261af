"""The dynamic providers driven through the SDK's real provider server, as the engine drives them.

Sequences preview → up → add a file → preview → up → out-of-band apply → refresh → destroy on
SQLite and PostgreSQL, with unknowns and secrets on the wire the way the engine sends them; the
text ``pulumi preview --diff`` prints (``Step.render``, the engine's old-inputs-vs-new-inputs
rendering) and the lint findings in it on SQLite, PostgreSQL and MariaDB.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import pytest

from pulumi.dynamic.dynamic import serialize_provider
from pulumi_migrations_provider import engine
from pulumi_migrations_provider.migdir import MigrationDir
from pulumi_migrations_provider.providers import (
    DatabaseProvider,
    DirectoryProvider,
    MigrationProvider,
)
from pulumi_migrations_provider.providers.migration import PLAN_URL_UNKNOWN
from tests import dbtools
from tests.dirtools import make_dir
from tests.grpc_harness import UNKNOWN, CheckFailed, ProviderError, ProviderServer, Stack
from tests.servers import SECRET_PASSWORD

MIG = "pulumi-python:dynamic/migrations:Migration"
DB = "pulumi-python:dynamic/migrations:Database"
DIR = "pulumi-python:dynamic/migrations:MigrationDirectory"

V1 = ("1_users.sql", "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);\n")
V2 = ("2_posts.sql", "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER);\n")
V3 = ("3_tags.sql", "CREATE TABLE tags (id INTEGER PRIMARY KEY, label TEXT);\n")
V4 = ("4_likes.sql", "CREATE TABLE likes (id INTEGER PRIMARY KEY);\n")
BAD = ("2_bad.sql", "CREATE TABLE audit (id INTEGER);\nCREATE TABLEX broken (id INTEGER);\n")
FIXED = ("2_bad.sql", "CREATE TABLE audit (id INTEGER);\nCREATE TABLE broken (id INTEGER);\n")


@pytest.fixture
def stack(provider_server: ProviderServer) -> Stack:
    return Stack(provider_server)


@pytest.fixture(params=["sqlite", "postgres", "mariadb"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], str]:
    """A factory of URLs of fresh empty databases (SQLite files, PostgreSQL or MariaDB databases)."""
    if request.param == "sqlite":
        counter = iter(range(1, 1000))
        return lambda: f"sqlite://{tmp_path}/db{next(counter)}.db"
    pg = request.getfixturevalue("pg_server" if request.param == "postgres" else "maria_server")

    def make() -> str:
        name = f"t_{next(_names)}_{id(tmp_path) % 10**6}"
        pg.create_database(name)
        return str(pg.app_url(name))
    return make


_names = iter(range(1, 10**6))


def _add(directory: Path, *files: tuple[str, str]) -> None:
    for name, content in files:
        (directory / name).write_text(content)
    MigrationDir.load(directory).write_sum()


def _nothing_written(url: str) -> bool:
    if url.startswith("sqlite://"):
        return not Path(url[len("sqlite://"):]).exists()
    return not dbtools.table_exists(url) and dbtools.user_tables(url) == []


def _migrate(stack: Stack, name: str, url: str, directory: Path, preview: bool = False,
             **options: object):
    inputs = {"url": url, "dir": str(directory), **options}
    if preview:
        return stack.preview(name, MIG, MigrationProvider(), inputs, secrets={"url"})
    return stack.up(name, MIG, MigrationProvider(), inputs, secrets={"url"},
                    additional_secret_outputs=["url"])


def test_lifecycle(stack: Stack, provider_server: ProviderServer, fresh_url: Callable[[], str],
                   tmp_path: Path) -> None:
    url = fresh_url()
    d = make_dir(tmp_path, dict([V1, V2]))

    pv = _migrate(stack, "app", url, d, preview=True)
    assert pv.op == "create"
    assert pv.inputs["__pending"] == ["1_users.sql", "2_posts.sql"]
    assert "up applies 2 file(s), version none -> 2: 1_users.sql, 2_posts.sql" in provider_server.logs()
    assert pv.inputs["target_version"] == "2"
    assert _nothing_written(url), "preview must not write to the database"

    up = _migrate(stack, "app", url, d)
    assert up.outputs is not None
    assert up.outputs["applied_version"] == "2"
    assert up.outputs["applied"] == ["1_users.sql", "2_posts.sql"]
    assert up.outputs.get("pending", []) == []
    assert up.outputs["status"] == "OK"
    assert up.outputs["dir"] == str(d)
    assert {"users", "posts"} <= set(dbtools.user_tables(url))

    assert _migrate(stack, "app", url, d, preview=True).op == "same"

    _add(d, V3)
    pv = _migrate(stack, "app", url, d, preview=True)
    assert pv.op == "update"
    assert pv.inputs["__pending"] == ["3_tags.sql"]
    assert "tags" not in dbtools.user_tables(url)

    up = _migrate(stack, "app", url, d)
    assert up.op == "update"
    assert up.outputs["applied"] == ["3_tags.sql"]
    assert up.outputs["applied_version"] == "3"

    # Another tool applies a fourth file out of band; refresh picks it up.
    _add(d, V4)
    done = engine.apply(url, d)
    assert done.applied == ["4_likes.sql"]
    assert stack.resources["app"].outputs["applied_version"] == "3"
    refreshed = stack.refresh("app")
    assert refreshed is not None
    assert refreshed.outputs["applied_version"] == "4"
    assert refreshed.outputs.get("pending", []) == []
    assert _migrate(stack, "app", url, d, preview=True).op == "same"

    stack.destroy("app")
    assert "left in place" in provider_server.logs()
    assert {"users", "posts", "tags", "likes"} <= set(dbtools.user_tables(url))
    assert len(dbtools.revisions(url)) == 4


TAGS = ("3_tags.sql", "CREATE TABLE tags (id INTEGER PRIMARY KEY, label TEXT);\n"
                      "CREATE INDEX tags_label ON tags (label);\n")

# What `pulumi preview --diff` prints for the Migration (tests.diff_display: the engine's
# old-inputs-vs-new-inputs rendering), with the run's path, checksums and ids filled in.
CREATED = """\
    + pulumi-python:dynamic/migrations:Migration: (create)
        [urn={urn}]
        allow_changed : false
        allow_dirty   : false
        dir           : "{dir}"
        exec_order    : "linear"
        lock_timeout  : 10
        migrations    : {{
            1_users.sql: {{
                statements: 1
            }}
            2_posts.sql: {{
                statements: 1
            }}
        }}
        sum           : "{sum}"
        target_version: "2"
        tx_mode       : "file"
        url           : [secret]
"""
FILE_ADDED = """\
    ~ pulumi-python:dynamic/migrations:Migration: (update)
        [id={id}]
        [urn={urn}]
        allow_changed : false
        allow_dirty   : false
        dir           : "{dir}"
        exec_order    : "linear"
        lock_timeout  : 10
      ~ migrations    : {{
            1_users.sql: {{
                statements: 1
            }}
            2_posts.sql: {{
                statements: 1
            }}
          + 3_tags.sql : {{
              + statements: 2
            }}
        }}
      ~ sum           : "{old_sum}" => "{sum}"
      ~ target_version: "2" => "3"
        tx_mode       : "file"
        url           : [secret]
"""


def test_preview_diff_a_reviewer_can_trust(stack: Stack, provider_server: ProviderServer,
                                           db_url: str, tmp_path: Path) -> None:
    """preview → up → add a file → preview → up → preview, as the reviewer reads it: applied
    files never on the old side as removed, no plan from an earlier run, and each file ``up``
    would apply a ``+`` line with its statement count."""
    url = db_url  # sqlite, postgres, mariadb
    d = make_dir(tmp_path, dict([V1, V2]))
    urn = stack.urn("app", MIG)
    sum2 = MigrationDir.load(d).validate().total

    assert _migrate(stack, "app", url, d, preview=True).render() == CREATED.format(
        urn=urn, dir=d, sum=sum2)
    _migrate(stack, "app", url, d)
    assert _migrate(stack, "app", url, d, preview=True).render() == ""  # a same step prints nothing

    _add(d, TAGS)
    pv = _migrate(stack, "app", url, d, preview=True)
    text = pv.render()
    assert text == FILE_ADDED.format(id=stack.resources["app"].id, urn=urn, dir=d,
                                     old_sum=sum2, sum=MigrationDir.load(d).validate().total)
    # What up would do now is said once, from the live revisions table, and is not an input.
    assert "up applies 1 file(s), version 2 -> 3: 3_tags.sql" in provider_server.logs()

    _migrate(stack, "app", url, d)
    assert _migrate(stack, "app", url, d, preview=True).render() == ""
    stack.refresh("app")
    assert _migrate(stack, "app", url, d, preview=True).render() == ""
    # The state's inputs hold nothing that describes the database before the last up.
    shown = {k for k in stack.resources["app"].inputs if not k.startswith("__")}
    assert not shown & {"pending", "plan", "applied", "applied_version"}
    assert stack.resources["app"].outputs["plan"] == "up to date at version 3"

    # Another file: it is the only "+" entry; nothing is ever marked "-".
    _add(d, V4)
    text = _migrate(stack, "app", url, d, preview=True).render()
    marked = [ln.split(":")[0].strip() for ln in text.splitlines()[3:]
              if ln.lstrip()[:1] in ("+", "-", "~")]
    assert marked == ["~ migrations", "+ 4_likes.sql", "+ statements", "~ sum", "~ target_version"]
    assert "3_tags.sql : {" in text and "statements: 2" in text  # applied: an unchanged line


USERS = ("1_users.sql", "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, email TEXT);\n"
                       "INSERT INTO users (id, name) VALUES (1, 'a'), (2, 'b');\n")
DROP = ("2_drop.sql", "ALTER TABLE users RENAME COLUMN name TO full_name;\n"
                      "ALTER TABLE users DROP COLUMN email;\n")


def test_preview_shows_findings_and_an_error_fails_it(stack: Stack, db_url: str,
                                                      tmp_path: Path) -> None:
    """Findings of the pending files, with the live table size, in the diff; a destructive
    change fails the preview (and up) with file:line and the nolint to add, until the policy
    or a nolint says otherwise."""
    url = db_url  # sqlite, postgres, mariadb
    d = make_dir(tmp_path, dict([USERS]))
    _migrate(stack, "app", url, d)
    _add(d, DROP)
    with pytest.raises(CheckFailed) as exc:
        _migrate(stack, "app", url, d, preview=True)
    [(prop, reason)] = exc.value.failures
    assert prop == "dir"
    assert reason.startswith('linting 2_drop.sql:2: DS103 Dropping non-virtual column "email" '
                             "(table users: ~2 rows")
    assert "add '-- atlas:nolint DS103' above it" in reason and 'lint={"DS103": "warn"}' in reason
    with pytest.raises(CheckFailed):
        _migrate(stack, "app", url, d)  # up checks first: nothing runs
    assert dbtools.columns(url, "users") == ["id", "name", "email"]

    pv = _migrate(stack, "app", url, d, preview=True, lint={"destructive": "warn"})
    text = pv.render()
    assert "      + 2_drop.sql : {\n" in text and "              + statements: 2\n" in text
    findings = pv.inputs["migrations"]["2_drop.sql"]["findings"]
    assert [f.split(" (table")[0] for f in findings] == [
        'L1 warning: BC102 Renaming column "name" to "full_name"',
        'L2 warning: DS103 Dropping non-virtual column "email"']
    assert all("(table users: ~2 rows, " in f for f in findings)
    assert all(f"+     [{i}]: " in text for i in range(2))
    assert "1_users.sql: {\n" in text and "- " not in text  # the applied file: unchanged

    with pytest.raises(CheckFailed) as exc:
        _migrate(stack, "app", url, d, preview=True, lint={"destructive": "maybe"})
    assert exc.value.failures[0][0] == "lint" and "'maybe'" in exc.value.failures[0][1]

    # A nolint above the statement silences it, as in Atlas; the default policy then passes.
    _add(d, (DROP[0], DROP[1].replace("ALTER TABLE users DROP", "-- atlas:nolint DS103\nALTER TABLE users DROP")))
    pv = _migrate(stack, "app", url, d, preview=True)
    assert [f.split(":")[1] for f in pv.inputs["migrations"]["2_drop.sql"]["findings"]] == [
        " BC102 Renaming column \"name\" to \"full_name\" (table users"]
    _migrate(stack, "app", url, d)
    assert dbtools.columns(url, "users") == ["id", "full_name"]
    # Applied: its entry, findings included, is an unchanged line from now on.
    assert _migrate(stack, "app", url, d, preview=True).render() == ""
    _add(d, V3)
    text = _migrate(stack, "app", url, d, preview=True).render()
    assert "            2_drop.sql : {\n" in text and "BC102" in text
    assert [ln.strip()[:2] for ln in text.splitlines() if ln.lstrip()[:2] in ("+ ", "- ", "~ ")] == [
        "~ ", "~ ", "+ ", "+ ", "~ ", "~ "]


def test_state_of_an_earlier_version_shows_its_pending_and_plan_removed_once(
        stack: Stack, fresh_url: Callable[[], str], tmp_path: Path) -> None:
    """A stack last updated by a version that stored ``pending``/``plan`` as inputs (what the
    README tells upgraders): the next diff shows them removed, the one after never again."""
    url = fresh_url()
    d = make_dir(tmp_path, dict([V1, V2]))
    _migrate(stack, "app", url, d)
    stack.resources["app"].inputs.update(
        pending=["1_users.sql", "2_posts.sql"], plan="up applies 2 file(s), version none -> 2")
    _add(d, V3)
    text = _migrate(stack, "app", url, d, preview=True).render()
    assert '      - pending       : [\n      -     [0]: "1_users.sql"\n' in text
    assert '      - plan          : "up applies 2 file(s), version none -> 2"\n' in text
    _migrate(stack, "app", url, d)
    _add(d, V4)
    text = _migrate(stack, "app", url, d, preview=True).render()
    assert "pending" not in text and "plan" not in text and "\n      - " not in text


def test_preview_with_unknown_url(stack: Stack, provider_server: ProviderServer,
                                  fresh_url: Callable[[], str], tmp_path: Path) -> None:
    d = make_dir(tmp_path, dict([V1, V2]))
    pv = _migrate(stack, "app", UNKNOWN, d, preview=True)
    assert pv.op == "create"
    assert pv.inputs["__pending"] == UNKNOWN
    # The files are known; how a dialect splits them is not.
    assert pv.inputs["migrations"] == {"1_users.sql": {"statements": UNKNOWN},
                                       "2_posts.sql": {"statements": UNKNOWN}}
    assert f"preview: {PLAN_URL_UNKNOWN}" in provider_server.logs()
    assert pv.inputs["url"] == UNKNOWN

    # An existing resource whose URL becomes unknown (database being replaced) is an update.
    url = fresh_url()
    _migrate(stack, "app", url, d)
    pv = _migrate(stack, "app", UNKNOWN, d, preview=True)
    assert pv.op == "update"
    assert pv.inputs["__pending"] == UNKNOWN
    # The applied files keep their recorded entries: nothing on the old side changes.
    assert pv.inputs["migrations"] == stack.resources["app"].inputs["migrations"]


def test_preview_with_unreachable_database(stack: Stack, provider_server: ProviderServer,
                                           tmp_path: Path) -> None:
    d = make_dir(tmp_path, dict([V1]))
    url = f"postgres://app:{quote(SECRET_PASSWORD, safe='')}@127.0.0.1:1/app?sslmode=disable"
    pv = _migrate(stack, "app", url, d, preview=True)
    assert pv.op == "create"
    assert "pending unknown: the database is unreachable at preview" in provider_server.logs()
    assert "__pending" not in pv.inputs
    assert pv.inputs["migrations"] == {"1_users.sql": {"statements": 1}}  # the dialect is known
    for text in (pv.display(), pv.render(), provider_server.logs()):
        assert SECRET_PASSWORD not in text and quote(SECRET_PASSWORD, safe="") not in text
    # Lint degrades to static findings, and an error still fails the preview.
    _add(d, ("2_drop.sql", "DROP TABLE legacy;\n"))  # not created by the pending files
    with pytest.raises(CheckFailed) as exc:
        _migrate(stack, "app", url, d, preview=True)
    assert exc.value.failures[0][1].startswith('linting 2_drop.sql:1: DS102 Dropping table "legacy": ')
    pv = _migrate(stack, "app", url, d, preview=True, lint={"DS102": "warn"})
    assert pv.inputs["migrations"]["2_drop.sql"] == {
        "statements": 1, "findings": ['L1 warning: DS102 Dropping table "legacy"']}
    assert "lint read no live facts: findings are static" in provider_server.logs()


def test_declared_version_below_applied_is_an_error(stack: Stack, fresh_url: Callable[[], str],
                                                    tmp_path: Path) -> None:
    url = fresh_url()
    d = make_dir(tmp_path, dict([V1, V2]))
    _migrate(stack, "app", url, d)
    with pytest.raises(CheckFailed) as exc:
        _migrate(stack, "app", url, d, preview=True, version="1")
    assert exc.value.failures[0][0] == "version"
    assert "down migrations are not supported" in str(exc.value)


def test_pinned_version_applies_up_to_it(stack: Stack, fresh_url: Callable[[], str],
                                         tmp_path: Path) -> None:
    url = fresh_url()
    d = make_dir(tmp_path, dict([V1, V2, V3]))
    pv = _migrate(stack, "app", url, d, preview=True, version="2")
    assert pv.inputs["__pending"] == ["1_users.sql", "2_posts.sql"]
    assert sorted(pv.inputs["migrations"]) == ["1_users.sql", "2_posts.sql"]  # the declared state
    up = _migrate(stack, "app", url, d, version=2.0)  # numbers arrive as floats
    assert up.outputs["applied_version"] == "2"
    assert up.outputs["version"] == "2"
    pv = _migrate(stack, "app", url, d, preview=True)  # unpinned: follow the directory
    assert pv.op == "update" and pv.inputs["__pending"] == ["3_tags.sql"]
    assert sorted(pv.inputs["migrations"]) == ["1_users.sql", "2_posts.sql", "3_tags.sql"]


def test_applied_file_changed_fails_the_preview(stack: Stack, fresh_url: Callable[[], str],
                                                tmp_path: Path) -> None:
    url = fresh_url()
    d = make_dir(tmp_path, dict([V1, V2]))
    _migrate(stack, "app", url, d)
    _add(d, ("1_users.sql", V1[1] + "CREATE INDEX users_name ON users (name);\n"))
    with pytest.raises(CheckFailed) as exc:
        _migrate(stack, "app", url, d, preview=True)
    assert "1_users.sql" in str(exc.value)
    # The message names the resource input, not the CLI flag, and the input works.
    assert "allow_changed=True" in str(exc.value) and "--allow-changed" not in str(exc.value)
    pv = _migrate(stack, "app", url, d, preview=True, allow_changed=True)
    assert pv.op == "update" and pv.inputs["__pending"] == []
    # The accepted edit is visible: the applied file now has two statements.
    assert "~ statements: 1 => 2" in pv.render()
    # Accepting the edit is a one-time act (issue 11): up records the new hash, and the flag can
    # be removed again without the preview failing.
    _migrate(stack, "app", url, d, allow_changed=True)
    pv = _migrate(stack, "app", url, d, preview=True)
    assert pv.inputs["__pending"] == []


def test_failing_migration_keeps_progress_and_resumes(stack: Stack, fresh_url: Callable[[], str],
                                                      tmp_path: Path) -> None:
    url = fresh_url()
    d = make_dir(tmp_path, dict([V1]))
    _migrate(stack, "app", url, d)
    _add(d, BAD)
    assert _migrate(stack, "app", url, d, preview=True).inputs["__pending"] == ["2_bad.sql"]
    with pytest.raises(ProviderError) as exc:
        _migrate(stack, "app", url, d)
    message = exc.value.last_line
    assert exc.value.method == "Update"
    assert "2_bad.sql" in message and "CREATE TABLEX" in message
    assert "syntax" in message.lower()
    assert stack.resources["app"].outputs["applied_version"] == "1"  # a failed update keeps state

    rows = {r["version"]: r for r in dbtools.revisions(url)}
    refreshed = stack.refresh("app")
    assert refreshed is not None
    if url.startswith("mysql"):  # the row was written before the statement and keeps the error
        assert rows["2"]["error"]
        assert refreshed.outputs["status"] == "FAILED"
        assert "syntax" in refreshed.outputs["error"].lower()
    else:  # the row rolled back with the file, as Atlas's does: nothing ran, 2 is pending
        assert "2" not in rows
        assert refreshed.outputs["status"] == "PENDING" and not refreshed.outputs.get("error")

    _add(d, FIXED)
    up = _migrate(stack, "app", url, d)
    assert up.outputs["applied"] == ["2_bad.sql"]
    assert up.outputs["applied_version"] == "2"
    assert up.outputs["status"] == "OK"
    assert not up.outputs.get("error")
    assert {"audit", "broken"} <= set(dbtools.user_tables(url))


def test_failing_first_up_creates_nothing_in_state(stack: Stack, fresh_url: Callable[[], str],
                                                   tmp_path: Path) -> None:
    url = fresh_url()
    d = make_dir(tmp_path, dict([V1, BAD]))
    with pytest.raises(ProviderError) as exc:
        _migrate(stack, "app", url, d)
    assert exc.value.method == "Create" and "2_bad.sql" in exc.value.last_line
    assert "app" not in stack.resources
    _add(d, FIXED)
    up = _migrate(stack, "app", url, d)
    assert up.op == "create"
    assert up.outputs["applied"] == ["2_bad.sql"]  # 1_users.sql ran in the failed attempt
    assert up.outputs["applied_version"] == "2"


def test_moving_the_directory_or_new_provider_code_is_not_a_diff(
        stack: Stack, fresh_url: Callable[[], str], tmp_path: Path) -> None:
    url = fresh_url()
    d = make_dir(tmp_path, dict([V1, V2]))
    _migrate(stack, "app", url, d)
    other = tmp_path / "checkout2" / "migrations"
    shutil.copytree(d, other)
    assert _migrate(stack, "app", url, other, preview=True).op == "same"
    up = _migrate(stack, "app", url, other)
    assert up.op == "same"
    # State written by other provider code (a different __provider) is not a diff either.
    state = stack.resources["app"]
    state.outputs["__provider"] = state.inputs["__provider"] = serialize_provider(DatabaseProvider())
    assert _migrate(stack, "app", url, other, preview=True).op == "same"
    # The new path is used from now on, even for refresh.
    shutil.rmtree(d)
    assert stack.refresh("app") is not None


def test_many_migrations_in_parallel(stack: Stack, fresh_url: Callable[[], str],
                                     tmp_path: Path) -> None:
    d = make_dir(tmp_path, dict([V1, V2, V3]))
    urls = {f"tenant{i}": fresh_url() for i in range(6)}
    with ThreadPoolExecutor(max_workers=6) as pool:
        steps = list(pool.map(lambda item: _migrate(stack, item[0], item[1], d), urls.items()))
    assert all(s.outputs["applied_version"] == "3" for s in steps)
    for url in urls.values():
        assert [r["version"] for r in dbtools.revisions(url)] == ["1", "2", "3"]


def test_state_and_logs_hold_no_password(provider_server: ProviderServer, stack: Stack, pg_url: str,
                                         tmp_path: Path) -> None:
    d = make_dir(tmp_path, dict([V1]))
    encoded = quote(SECRET_PASSWORD, safe="")
    db = stack.up("db", DB, DatabaseProvider(), {"url": pg_url}, secrets={"url"},
                  additional_secret_outputs=["url"])
    assert db.outputs["display_url"].count("****") == 1
    pv = _migrate(stack, "app", pg_url, d, preview=True)
    up = _migrate(stack, "app", pg_url, d)
    assert up.outputs["url"] == pg_url  # the engine keeps it secret: same key as the secret input
    assert stack.resources["app"].secret_outputs >= {"url"}
    _add(d, V2)
    pv2 = _migrate(stack, "app", pg_url, d, preview=True)
    _migrate(stack, "app", pg_url, d)
    stack.refresh("app")
    stack.refresh("db")
    checkpoint = stack.checkpoint()
    texts = [checkpoint, pv.display(), pv2.display(), provider_server.logs()]
    stack.destroy("app")
    stack.destroy("db")
    texts.append(provider_server.logs())
    for text in texts:
        assert SECRET_PASSWORD not in text and encoded not in text
    assert "****" in provider_server.logs()  # the delete log line names the database, masked


def test_database_outputs(stack: Stack, fresh_url: Callable[[], str]) -> None:
    url = fresh_url()
    pv = stack.preview("db", DB, DatabaseProvider(), {"url": url}, secrets={"url"})
    assert pv.op == "create"
    up = stack.up("db", DB, DatabaseProvider(), {"url": url}, secrets={"url"},
                  additional_secret_outputs=["url"])
    outs = up.outputs
    assert outs["dialect"] in ("sqlite", "postgresql", "mysql")
    assert outs["server_version"]
    assert outs["revisions_table"].endswith("atlas_schema_revisions")
    assert "url" in stack.resources["db"].secret_outputs
    assert stack.preview("db", DB, DatabaseProvider(), {"url": url}, secrets={"url"}).op == "same"
    with pytest.raises(CheckFailed) as exc:
        stack.preview("bad", DB, DatabaseProvider(), {"url": "oracle://x"}, secrets={"url"})
    assert exc.value.failures[0][0] == "url"


def test_migration_directory(stack: Stack, tmp_path: Path) -> None:
    d = make_dir(tmp_path, dict([V1, V2]))
    pv = stack.preview("dir", DIR, DirectoryProvider(), {"path": str(d)})
    assert [f["name"] for f in pv.inputs["files"]] == ["1_users.sql", "2_posts.sql"]
    assert pv.inputs["files"][1] == {"name": "2_posts.sql", "version": "2",
                                     "description": "posts",
                                     "hash": MigrationDir.load(d).validate().hash_of("2_posts.sql")}
    assert pv.inputs["latest_version"] == "2"
    up = stack.up("dir", DIR, DirectoryProvider(), {"path": str(d)})
    assert up.outputs["sum"] == MigrationDir.load(d).validate().total

    moved = tmp_path / "elsewhere"
    shutil.copytree(d, moved)
    assert stack.preview("dir", DIR, DirectoryProvider(), {"path": str(moved)}).op == "same"

    _add(d, V3)
    pv = stack.preview("dir", DIR, DirectoryProvider(), {"path": str(d)})
    assert pv.op == "update" and pv.inputs["latest_version"] == "3"

    (d / "2_posts.sql").write_text("CREATE TABLE posts (id INTEGER);\n")  # atlas.sum now stale
    with pytest.raises(CheckFailed) as exc:
        stack.preview("dir", DIR, DirectoryProvider(), {"path": str(d)})
    prop, reason = exc.value.failures[0]
    assert prop == "path"
    assert "2_posts.sql" in reason and "L3" in reason
    assert "pulumi-migrations hash" in reason


def test_stale_sum_fails_the_migration_preview(stack: Stack, tmp_path: Path) -> None:
    d = make_dir(tmp_path, dict([V1, V2]))
    (d / "1_users.sql").write_text("CREATE TABLE users (id INTEGER);\n")
    with pytest.raises(CheckFailed) as exc:
        _migrate(stack, "app", f"sqlite://{tmp_path}/x.db", d, preview=True)
    assert exc.value.failures[0][0] == "dir"
    assert "1_users.sql" in str(exc.value) and "pulumi-migrations hash" in str(exc.value)


def test_file_added_before_the_applied_version_fails_the_preview(
        stack: Stack, fresh_url: Callable[[], str], tmp_path: Path) -> None:
    url = fresh_url()
    d = make_dir(tmp_path, dict([V1, V3]))
    _migrate(stack, "app", url, d)
    _add(d, V2)
    with pytest.raises(CheckFailed) as exc:
        _migrate(stack, "app", url, d, preview=True)
    assert exc.value.failures[0][0] == "dir"
    assert "2_posts.sql" in str(exc.value)
    pv = _migrate(stack, "app", url, d, preview=True, exec_order="linear-skip")
    assert pv.op == "update"  # the option changed; the skipped file stays unapplied


def test_bad_option_is_a_check_failure(stack: Stack, tmp_path: Path) -> None:
    d = make_dir(tmp_path, dict([V1]))
    with pytest.raises(CheckFailed) as exc:
        _migrate(stack, "app", f"sqlite://{tmp_path}/x.db", d, preview=True, tx_mode="sometimes")
    assert exc.value.failures[0][0] == "tx_mode"
    assert "sometimes" in exc.value.failures[0][1]


def test_refresh_after_the_checkout_moved_reads_the_revisions_table(
        stack: Stack, fresh_url: Callable[[], str], tmp_path: Path) -> None:
    """The recorded directory path is gone (CI workspace moved): refresh still sees what
    was applied out of band."""
    url = fresh_url()
    d = make_dir(tmp_path, dict([V1, V2]))
    _migrate(stack, "app", url, d, version="1")
    other = make_dir(tmp_path / "elsewhere", dict([V1, V2]))
    engine.apply(url, other)            # another tool moves the database to version 2
    shutil.rmtree(d)                    # the path in state no longer exists
    refreshed = stack.refresh("app")
    assert refreshed is not None
    assert refreshed.outputs["applied_version"] == "2"
    assert refreshed.outputs.get("error") is None


def test_directory_read_once_for_many_resources_and_again_after_an_edit(tmp_path: Path) -> None:
    """The provider serves many Migration resources of one directory: an unchanged directory
    (older than the file system's timestamp granularity) is not read and hashed again; an
    edit is seen at once."""
    import os
    import time

    from pulumi_migrations_provider.errors import ChecksumError
    from pulumi_migrations_provider.providers._common import load_directory

    d = make_dir(tmp_path, dict([V1, V2]))
    first, _ = load_directory(str(d))
    assert load_directory(str(d))[0] is not first  # just written: never trusted to the cache
    old = time.time() - 10
    for f in d.iterdir():
        os.utime(f, (old, old))
    cached, sums = load_directory(str(d))
    assert load_directory(str(d))[0] is cached
    assert sums.hash_of("2_posts.sql")
    (d / V2[0]).write_text(V2[1].replace("posts", "poste"))  # same size, new mtime
    with pytest.raises(ChecksumError):
        load_directory(str(d))
