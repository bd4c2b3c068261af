"""atlas.hcl project files: Atlas's own documented examples and test data (tests/testdata/atlashcl,
provenance in its SOURCE.md), the expressions we evaluate, the errors for what we do not, and
``--config``/``--env``/``--var`` on real databases (SQLite, PostgreSQL, MariaDB)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pulumi_migrations_provider import atlashcl
from pulumi_migrations_provider.cli import HINT_WORDS as CLI_WORDS
from pulumi_migrations_provider.errors import ConfigError
from pulumi_migrations_provider.providers._common import HINT_WORDS as RESOURCE_WORDS
from tests.dbtools import query, revisions
from tests.dirtools import make_dir
from tests.paths import TESTDATA
from tests.servers import SECRET_PASSWORD
from tests.test_cli import run

HCL = TESTDATA / "atlashcl"
FILES = {
    "1_users.sql": "CREATE TABLE users (id INT PRIMARY KEY);\n",
    "2_posts.sql": "CREATE TABLE posts (id INT PRIMARY KEY);\nCREATE TABLE tags (id INT);\n",
}


def project(text: str, **variables: object) -> atlashcl.Project:
    return atlashcl.loads(text, variables)


# --- Atlas's documented examples --------------------------------------------------------------


def test_atlas_e2e_multi_tenants_expands_for_each_in_atlas_set_order() -> None:
    p = atlashcl.load(str(HCL / "e2e-multi-tenants" / "atlas.hcl"))
    envs = p.envs("test")  # unlabeled: name = atlas.env takes whatever --env says
    assert [(e.name, e.key, e.url, e.dir) for e in envs] == [
        ("test", "sqlite://bar.db?_fk=1", "sqlite://bar.db?_fk=1", "file://migrations"),
        ("test", "sqlite://foo.db?_fk=1", "sqlite://foo.db?_fk=1", "file://migrations"),
    ]


def test_atlas_docs_examples_read_as_documented(monkeypatch: pytest.MonkeyPatch) -> None:
    local = atlashcl.load(str(HCL / "docs-local-sqlite.hcl")).envs("local")
    assert [(e.url, e.dir, e.options) for e in local] == [("sqlite://file.db?_fk=1", None, {})]
    dev = atlashcl.load(str(HCL / "docs-local-sqlite.hcl")).envs("dev")
    assert [(e.url, e.dir) for e in dev] == [(None, None)]
    pg = atlashcl.load(str(HCL / "docs-local-postgres.hcl")).envs("local")[0]
    assert pg.url == "postgres://postgres:pass@localhost:5432/database?search_path=public&sslmode=disable"
    # var.tenants has no default, but env "local" does not use it: nothing asks for it.
    inputs = atlashcl.load(str(HCL / "docs-input-variables.hcl"))
    assert inputs.envs("local")[0].url == "mysql://root:pass@localhost:3306/"
    assert atlashcl.load(str(HCL / "docs-input-variables.hcl"), {"url": "sqlite://x.db"}) \
        .envs("local")[0].url == "sqlite://x.db"
    tf = atlashcl.load(str(HCL / "tf-baseline-cfg.hcl")).envs("anything")[0]
    assert (tf.url, tf.dir, tf.options) == ("mysql://user:pass@localhost:3306/tf-db",
                                            "file://migrations", {"baseline": "100000"})
    assert tf.formats == {"apply": "{{ json . }}", "lint": "{{ json . }}", "status": "{{ json . }}"}
    monkeypatch.setenv("ATLAS_TOKEN", "t0ken")
    assert inputs.variable("cloud_token", "x", "y") == "t0ken"


@pytest.mark.parametrize("name, env, message", [
    ("docs-remote-dir.hcl", "prod",
     "env (unlabeled) migration.dir: data sources (data.remote_dir...) are not supported"),
    ("docs-multi-env-sql.hcl", "prod",
     'env "prod" for_each: data sources (data.sql...) are not supported'),
    ("docs-unlabeled-env.hcl", "prod",
     'env (unlabeled) url: var.url is not declared; add a variable "url" block'),
    ("docs-locals.hcl", "prod", "no env block named 'prod' (envs: none); pass one of them as --env"),
])
def test_atlas_docs_examples_we_cannot_run_fail_naming_block_and_attribute(
        name: str, env: str, message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "sqlite://x.db")
    with pytest.raises(ConfigError) as err:
        atlashcl.load(str(HCL / name)).envs(env)
    assert message in err.value.render(CLI_WORDS)
    assert str(err.value).startswith(f"reading project file {HCL / name}: ")
    assert "\n" not in str(err.value)


def test_docs_locals_reference_undeclared_variables_only_when_evaluated() -> None:
    p = atlashcl.load(str(HCL / "docs-locals.hcl"))
    assert p.local("tenants", "env", "url") == ["tenant_1", "tenant_2"]
    with pytest.raises(ConfigError, match=r"var\.user is not declared"):
        p.local("db1_url", "env", "url")


# --- expressions ------------------------------------------------------------------------------


def test_expressions_interpolation_locals_for_each_map_and_functions(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PW", "s3cret")
    p = project('''
variable "tenants" {
  type    = list(string)
  default = ["b", "a", "b"]
}
variable "port" {
  type    = number
  default = 5432
}
locals {
  base = "postgres://app:${urlescape(getenv("PW"))}@db:${var.port}"
  urls = { for t in var.tenants : t => "${local.base}/${lower(t)}" if t != "z" }
  note = <<-EOT
    tenant "${upper(var.tenants[0])}"
    EOT
}
env "prod" {
  for_each = local.urls
  url = urlqueryset(each.value, "sslmode", "disable")
  migration {
    dir              = "file://migrations/${each.key}"
    exec_order       = "linear-skip"
    lock_timeout     = "1m30s"
    revisions_schema = var.port == 5432 ? "public" : "other"
    tx_mode          = "all"
  }
}
''')
    envs = p.envs("prod")
    assert [e.key for e in envs] == ["a", "b"]  # a map's instances in key order, as cty's
    assert envs[0].url == "postgres://app:s3cret@db:5432/a?sslmode=disable"
    assert envs[0].dir == "file://migrations/a"
    assert envs[0].options == {"exec_order": "linear-skip", "lock_timeout": 90.0,
                               "revisions_schema": "public", "tx_mode": "all"}
    assert p.local("note", "x", "y") == 'tenant "B"\n'


def test_toset_sorts_and_dedups_and_vars_convert_to_their_types() -> None:
    text = '''
variable "tenants" { type = set(string) }
variable "n" { type = number }
variable "flag" {
  type = bool
  default = false
}
env "e" {
  for_each = toset(var.tenants)
  url = "sqlite://${each.value}-${var.n}-${var.flag}.db"
  migration { exec_order = NON_LINEAR }
}
'''
    p = project(text, tenants=["c", "a", "c"], n="3")
    assert [e.url for e in p.envs("e")] == ["sqlite://a-3-false.db", "sqlite://c-3-false.db"]
    assert p.envs("e")[0].options == {"exec_order": "non-linear"}
    assert atlashcl.collect_vars([("t", "a"), ("t", "b"), ("u", "x")]) == {"t": ["a", "b"], "u": "x"}
    # Atlas's Vars.Set reads each --var as one CSV record: several pairs in one flag.
    flags = [atlashcl.parse_var("t=a,u=x"), atlashcl.parse_var('"t=b,c"')]
    assert atlashcl.collect_vars(flags) == {"t": ["a", "b,c"], "u": "x"}
    # The engine's text is neutral; each edge words the remedy, with the variable's name.
    with pytest.raises(ConfigError, match=r"variable 'n' \(number\): 'x' is not a number$") as err:
        project(text, tenants=["a"], n="x").envs("e")
    assert (err.value.option, err.value.name) == ("vars", "n")
    assert err.value.render(CLI_WORDS).endswith("is not a number; pass --var n=VALUE")
    assert err.value.render(RESOURCE_WORDS).endswith('is not a number; set vars={"n": VALUE}')
    with pytest.raises(ConfigError, match=r"variable 'n' has no value and no default$") as err:
        project(text, tenants=["a"]).envs("e")
    assert err.value.render(CLI_WORDS).endswith("no default; pass --var n=VALUE")
    with pytest.raises(ConfigError, match=r"variable 'nope' is given but no variable block declares it") as err:
        project(text, nope="1")
    assert err.value.render(CLI_WORDS).endswith('declare variable "nope" or drop --var nope')
    assert err.value.render(RESOURCE_WORDS).endswith('declare variable "nope" or remove nope from vars')


@pytest.mark.parametrize("body, message", [
    ('url = "sqlite://${1 + 2}.db"', "env \"e\" url: the operator '+' is not supported"),
    ('url = file("x")', "env \"e\" url: function file() is not supported"),
    ('url = each.value', "env \"e\" url: each is only defined in an env block with for_each"),
    ('url = ["a"]', 'env "e" url: expected a string'),
    ('foo = "a"\n url = "x"', "env \"e\" attribute 'foo' is not supported"),
    ('migration {\n format = golang-migrate\n }', 'env "e" migration.format: directory format '
     "'golang-migrate' is not supported, only Atlas's (atlas); convert the directory with 'atlas "
     "migrate import'"),
    ('migration {\n format = "flyway"\n }', "directory format 'flyway' is not supported"),
    ('migration {\n exec_order = "sideways"\n }', "unknown exec order 'sideways'"),
    ('migration {\n lock_timeout = "soon"\n }', "'soon' is not a duration"),
    ('migration {\n tx_mode = "some"\n }', "unknown tx mode 'some'"),
    ('url = "${local.x}"', "local.x is not defined"),
    ('url = "%{ if true }x%{ endif }"', "template directives"),
    ('url = "x"\n format {\n schema {\n apply = "x"\n }\n }', "format.schema is not supported"),
])
def test_unsupported_is_one_line_naming_block_and_attribute(body: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        project(f'env "e" {{\n {body}\n}}\n').envs("e")
    assert message in str(err.value), str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("fmt", ["atlas", '"atlas"'])
def test_atlas_directory_format_is_accepted(fmt: str) -> None:
    """Atlas's documented ``migration { dir = ..., format = atlas }`` (its default format) was
    refused as unsupported."""
    (env,) = project(f'env "e" {{\n url = "sqlite://x.db"\n migration {{\n dir = "file://m"\n'
                     f' format = {fmt}\n }}\n}}\n').envs("e")
    assert (env.url, env.dir, env.options) == ("sqlite://x.db", "file://m", {})


def test_errors_never_show_values_that_may_hold_a_password() -> None:
    p = project('env "e" {\n for_each = toset(["postgres://u:hunter2@h/db"])\n url = each.value.url\n}\n')
    with pytest.raises(ConfigError) as err:
        p.envs("e")
    assert "hunter2" not in str(err.value)
    assert "no attribute 'url' in a string" in str(err.value)


def test_bad_hcl_and_missing_file_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"not valid HCL .*fix the syntax"):
        project('env "e" {\n url = \n')
    # An unterminated heredoc swallows the rest of the file: the parser's token text would quote
    # a URL with its password; the message gives the position only.
    with pytest.raises(ConfigError, match=r"not valid HCL at line 2, column \d+") as err:
        project('env "x" {\n  url = <<EOF\npostgres://app:hunter2@h/db\nEOT\n}\n')
    assert "hunter2" not in str(err.value)
    with pytest.raises(ConfigError, match=r"no such file$") as err:
        atlashcl.load(str(tmp_path / "atlas.hcl"))
    assert err.value.render(CLI_WORDS).endswith("no such file; pass --config file://PATH to the "
                                                "atlas.hcl, or run from its directory")
    with pytest.raises(ConfigError, match=r"only file:// project files"):
        atlashcl.config_path("https://example.invalid/atlas.hcl")


# --- the CLI on real databases ----------------------------------------------------------------


def _project_dir(tmp_path: Path, text: str) -> Path:
    make_dir(tmp_path, FILES)
    (tmp_path / "atlas.hcl").write_text(text)
    return tmp_path


def test_atlas_e2e_multi_tenants_applies_every_sqlite_target(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copy(HCL / "e2e-multi-tenants" / "atlas.hcl", tmp_path / "atlas.hcl")
    make_dir(tmp_path, FILES)
    monkeypatch.chdir(tmp_path)  # Atlas reads file:// and sqlite:// paths from the current directory
    r = run("apply", "--env", "test")
    assert r.exit_code == 0, r.stderr
    for db in ("bar.db", "foo.db"):
        assert [row["version"] for row in revisions(f"sqlite://{tmp_path / db}")] == ["1", "2"]
    assert "tenant sqlite://bar.db?_fk=1: migrated to version 2 from none (2 files" in r.stdout


def test_env_fills_url_dir_and_options_flags_win(
        server_db: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = server_db.url  # type: ignore[attr-defined]
    other = server_db.fresh_url()  # type: ignore[attr-defined]
    root = _project_dir(tmp_path, f'''
variable "url" {{
  type = string
}}
env "dev" {{
  url = var.url
  migration {{
    dir = "file://migrations"
  }}
}}
''')
    monkeypatch.chdir(root)
    r = run("status", "--env", "dev", "--var", f"url={url}", "--format", "json")
    assert r.exit_code == 0, r.stderr
    assert '"pending": [\n    "1_users.sql",\n    "2_posts.sql"\n  ]' in r.stdout
    r = run("apply", "--env", "dev", "--var", f"url={url}", "1")
    assert r.exit_code == 0, r.stderr
    assert [row["version"] for row in revisions(url)] == ["1"]
    # --url on the command line wins over the env's url: the other database gets both files.
    r = run("apply", "--env", "dev", "--var", f"url={url}", "--url", other)
    assert r.exit_code == 0, r.stderr
    assert [row["version"] for row in revisions(other)] == ["1", "2"]
    assert [row["version"] for row in revisions(url)] == ["1"]
    assert SECRET_PASSWORD not in r.stdout + r.stderr


def test_env_baseline_and_exec_order_reach_the_engine(server_db: object, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    url = server_db.url  # type: ignore[attr-defined]
    from tests.dbtools import execute

    execute(url, "CREATE TABLE users (id INT PRIMARY KEY)")  # an existing database
    root = _project_dir(tmp_path, f'''
env "prod" {{
  url = "{url}"
  migration {{
    dir      = "file://migrations"
    baseline = "1"
  }}
}}
''')
    monkeypatch.chdir(root)
    r = run("apply", "--env", "prod")
    assert r.exit_code == 0, r.stderr
    rows = revisions(url)
    assert [(row["version"], row["type"]) for row in rows] == [("1", 1), ("2", 2)]  # baseline, execute
    assert query(url, "SELECT COUNT(*) FROM posts") == [(0,)]
    assert SECRET_PASSWORD not in r.stdout + r.stderr


def test_project_file_errors_are_one_line_exit_1_and_usage_exit_2(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    r = run("status", "--env", "dev")
    assert r.exit_code == 1
    assert r.stderr == (f"error: reading project file atlas.hcl: no such file; pass --config "
                     "file://PATH to the atlas.hcl, or run from its directory\n")
    (tmp_path / "p.hcl").write_text('env "dev" {\n url = getenv("NOPE_URL")\n migration {\n repo = 1\n }\n}\n')
    r = run("apply", "-c", "file://p.hcl", "--env", "dev")
    assert r.exit_code == 1
    assert r.stderr.startswith("error: reading project file p.hcl: env \"dev\" attribute migration.repo "
                            "is not supported")
    assert r.stderr.count("\n") == 1
    r = run("status", "--var", "a=b", "--url", "sqlite://x.db")
    assert r.exit_code == 2
    assert "--var sets project-file variables: pass --env NAME too" in r.stderr
    r = run("status", "--env", "dev", "--var", "novalue")
    assert r.exit_code == 2 and "'novalue' is not KEY=VALUE" in r.stderr


def test_env_format_is_used_when_supported_else_named(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The Terraform provider's project file asks for Atlas's '{{ json . }}'; --format wins."""
    make_dir(tmp_path, {"100000_base.sql": FILES["1_users.sql"], "100001_next.sql": FILES["2_posts.sql"]})
    text = (HCL / "tf-baseline-cfg.hcl").read_text().replace(
        "mysql://user:pass@localhost:3306/tf-db", f"sqlite://{tmp_path}/tf.db")
    (tmp_path / "atlas.hcl").write_text(text)
    monkeypatch.chdir(tmp_path)
    r = run("status", "--env", "tf", "--format", "text")
    assert r.exit_code == 0, r.stderr
    assert "Migration Status: PENDING" in r.stdout and "Next Version:    100001" in r.stdout  # the baseline skips 100000
    r = run("status", "--env", "tf")
    if r.exit_code == 0:  # Atlas's '{{ json . }}' output is there (another branch adds it)
        assert r.stdout.lstrip().startswith("{")
    else:
        assert r.exit_code == 1
        assert r.stderr == ("error: reading the project file: env 'tf' format.migrate.status: the "
                         "format '{{ json . }}' is not supported; use one of 'text', 'json' or "
                         "remove it\n")


def test_hash_and_new_take_the_env_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_dir(tmp_path, FILES, name="db/migrations")
    (tmp_path / "atlas.hcl").write_text('env "local" {\n migration {\n dir = "file://db/migrations"\n }\n}\n')
    monkeypatch.chdir(tmp_path)
    r = run("new", "--env", "local", "add_index")
    assert r.exit_code == 0, r.stderr
    assert "db/migrations/" in r.stdout and r.stdout.strip().endswith("_add_index.sql")
    r = run("validate", "--env", "local")
    assert r.exit_code == 0 and "ok: 3 files" in r.stdout


# --- the Migration resource: config / env / vars through the real provider server --------------

MIG = "pulumi-python:dynamic/migrations:Migration"


def test_migration_resource_reads_url_dir_and_options_from_an_env(
        server_db: object, tmp_path: Path, provider_server: object) -> None:
    from pulumi_migrations_provider.providers import MigrationProvider
    from tests.grpc_harness import CheckFailed, Stack

    url = server_db.url  # type: ignore[attr-defined]
    other = server_db.fresh_url()  # type: ignore[attr-defined]
    d = make_dir(tmp_path, FILES)
    config = tmp_path / "atlas.hcl"
    config.write_text(f'''
variable "url" {{
  type = string
}}
env "prod" {{
  url = var.url
  migration {{
    dir          = "file://{d}"
    lock_timeout = "3s"
    exec_order   = LINEAR_SKIP
  }}
}}
''')
    stack = Stack(provider_server)  # type: ignore[arg-type]
    inputs = {"config": str(config), "env": "prod", "vars": {"url": url}}
    pv = stack.preview("app", MIG, MigrationProvider(), inputs, secrets={"vars"})
    assert pv.inputs["__pending"] == ["1_users.sql", "2_posts.sql"]
    assert (pv.inputs["dir"], pv.inputs["lock_timeout"], pv.inputs["exec_order"]) == (
        str(d), 3.0, "linear-skip")
    assert revisions(url) == []  # preview writes nothing
    up = stack.up("app", MIG, MigrationProvider(), inputs, secrets={"vars"},
                  additional_secret_outputs=["url", "vars"])
    assert up.outputs["applied"] == ["1_users.sql", "2_posts.sql"]
    assert [row["version"] for row in revisions(url)] == ["1", "2"]
    assert {"url", "vars"} <= stack.resources["app"].secret_outputs
    # An input given on the resource wins over the env: url= sends it to another database.
    up = stack.up("other", MIG, MigrationProvider(), {**inputs, "url": other, "version": "1"},
                  secrets={"vars", "url"}, additional_secret_outputs=["url", "vars"])
    assert [row["version"] for row in revisions(other)] == ["1"]
    checkpoint = stack.checkpoint()
    assert SECRET_PASSWORD not in checkpoint
    # Unsupported project content fails the preview on the config input, naming block and attribute.
    config.write_text('env "prod" {\n url = data.sql.x.value\n}\n')
    with pytest.raises(CheckFailed) as failed:
        stack.preview("bad", MIG, MigrationProvider(), {"config": str(config), "env": "prod"})
    [(prop, reason)] = failed.value.failures
    assert prop == "config"
    assert reason == (f"reading project file {config}: env \"prod\" url: data sources (data.sql...) "
                      "are not supported; give the value directly, through a variable or getenv()")


def test_migration_resource_refuses_a_for_each_env_and_half_a_project(
        tmp_path: Path, provider_server: object) -> None:
    from pulumi_migrations_provider.providers import MigrationProvider
    from tests.grpc_harness import CheckFailed, Stack

    stack = Stack(provider_server)  # type: ignore[arg-type]
    with pytest.raises(CheckFailed) as failed:
        stack.preview("t", MIG, MigrationProvider(),
                      {"config": str(HCL / "e2e-multi-tenants" / "atlas.hcl"), "env": "x"})
    assert "env 'x' has 2 instances (for_each: sqlite://bar.db?_fk=1, sqlite://foo.db?_fk=1); " \
           "one Migration migrates one database" in str(failed.value)
    # vars not known yet at preview (an output of another resource): url and dir are unknown.
    from tests.grpc_harness import UNKNOWN

    config = tmp_path / "atlas.hcl"
    config.write_text('variable "u" {\n type = string\n}\nenv "e" {\n url = var.u\n'
                      ' migration {\n dir = "file://m"\n }\n}\n')
    pv = stack.preview("u", MIG, MigrationProvider(), {"config": str(config), "env": "e",
                                                       "vars": {"u": UNKNOWN}})
    assert pv.inputs["url"] == UNKNOWN and pv.inputs["dir"] == UNKNOWN
    assert pv.inputs["__pending"] == UNKNOWN
    with pytest.raises(CheckFailed) as failed:
        stack.preview("t", MIG, MigrationProvider(), {"env": "x", "url": "sqlite://x.db",
                                                      "dir": str(tmp_path)})
    assert failed.value.failures == [("config", "give both config= (the atlas.hcl path) and env= "
                                                "(the env block to read)")]
    # An error about env or vars points at that input and says what to set there, not a flag.
    with pytest.raises(CheckFailed) as failed:
        stack.preview("t", MIG, MigrationProvider(), {"config": str(config), "env": "prod"})
    assert failed.value.failures == [("env", f"reading project file {config}: no env block named "
                                             "'prod' (envs: e); set env to one of them")]
    with pytest.raises(CheckFailed) as failed:
        stack.preview("t", MIG, MigrationProvider(), {"config": str(config), "env": "e"})
    assert failed.value.failures == [("vars", f"reading project file {config}: variable 'u' has no "
                                              'value and no default; set vars={"u": VALUE}')]
    with pytest.raises(CheckFailed) as failed:
        stack.preview("t", MIG, MigrationProvider(), {"config": str(tmp_path / "nope.hcl"), "env": "e"})
    [(prop, reason)] = failed.value.failures
    assert prop == "config" and "--" not in reason and reason.endswith("set config to the atlas.hcl's "
        "path (file://PATH or a path, relative to the Pulumi program's directory)")


def test_sdk_migration_takes_config_env_vars(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``Migration(config=, env=, vars=)`` in a program (under mocks forwarding to the real
    provider): the env's url and dir are used; vars travel as a secret."""
    import pulumi
    from pulumi.runtime import rpc

    from pulumi_migrations import Migration
    from tests.test_sdk import run as run_program, use_mocks

    mocks = use_mocks()
    make_dir(tmp_path, FILES)
    (tmp_path / "atlas.hcl").write_text(
        'variable "name" {\n type = string\n}\n'
        'env "local" {\n url = "sqlite://${var.name}.db"\n migration {\n dir = "file://migrations"\n }\n}\n')
    monkeypatch.chdir(tmp_path)  # relative paths are the program's, as Atlas reads them

    def program() -> pulumi.Output[object]:
        app = Migration("app", config="file://atlas.hcl", env="local", vars={"name": "app"})

        def check(args: list[object]) -> None:
            applied, status = args
            assert applied == ["1_users.sql", "2_posts.sql"]
            assert status == "OK"
            inputs = mocks.registered["app"].inputs
            assert inputs["config"] == str(tmp_path / "atlas.hcl")
            assert rpc.is_rpc_secret(inputs["vars"])
        return pulumi.Output.all(app.applied, app.status).apply(check)

    run_program(program)
    assert [row["version"] for row in revisions(f"sqlite://{tmp_path}/app.db")] == ["1", "2"]


def test_manifests_take_the_env_dir_but_never_embed_its_url(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    make_dir(tmp_path, FILES, name="db")
    (tmp_path / "atlas.hcl").write_text(
        'env "prod" {\n url = "postgres://app:hunter2@db:5432/app"\n'
        ' migration {\n dir = "file://db"\n baseline = "1"\n }\n}\n')
    monkeypatch.chdir(tmp_path)
    r = run("manifests", "--env", "prod", "--name", "app")
    assert r.exit_code == 2 and "pass exactly one of --url and --url-secret" in r.stderr
    r = run("manifests", "--env", "prod", "--name", "app", "--url-secret", "app-db")
    assert r.exit_code == 0, r.stderr
    assert "hunter2" not in r.stdout
    assert "baseline: '1'" in r.stdout or 'baseline: "1"' in r.stdout
    assert "1_users.sql" in r.stdout
