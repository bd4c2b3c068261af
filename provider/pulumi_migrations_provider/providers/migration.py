"""``MigrationProvider``: apply a migration directory to a database, as a Pulumi resource.

Inputs (snake_case, as users read them in diffs): ``url`` (secret), ``dir`` (absolute path;
not part of the diff), ``version`` (default: the latest file), ``baseline``, ``allow_dirty``,
``exec_order``, ``tx_mode``, ``lock_timeout``, ``revisions_schema``, ``allow_changed``,
``lint`` (the lint policy: ``{"destructive": "warn", "DS103": "off", …}``).

``check`` adds, read-only, values that stay true after ``up`` (the engine shows the old inputs
against the new ones in the next preview; see ``preview``): ``sum`` (the ``atlas.sum`` total),
``target_version`` and ``migrations`` (per declared file its statement count, and for pending
files their findings), plus the hidden ``__pending`` that ``diff`` reads. What ``up`` would do
now is logged, never stored as an input. A finding of severity error fails the check.
``diff`` ignores ``dir``/``migrations``/``__provider`` as values, so they never flap.

Outputs add ``applied_version``, ``applied`` (files applied by the last run), ``pending`` and
``plan`` (after ``up`` and ``refresh``), ``status`` (``OK``, ``PENDING`` or ``FAILED``),
``error``/``error_statement`` (from the revisions table, after a refresh) and
``revisions_table``. ``delete`` never drops anything.
"""

from __future__ import annotations

from typing import Any

from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)
from pulumi.output import Unknown

from .. import engine, events, lint
from ..errors import (
    AppliedFileChangedError,
    ConfigError,
    ConnectError,
    DirError,
    HistoryError,
    MigrateError,
    ParseError,
    VersionError,
)
from ..dialects import Connection
from ..migdir import MigrationDir
from ..reports import Options, StatusReport
from ..target import Target
from ._common import (
    as_bool,
    as_float,
    as_version,
    changed_keys,
    dir_failure_reason,
    HINT_WORDS,
    error_first,
    resource_message,
    is_unknown,
    load_directory,
    log,
    new_id,
    pick,
    where,
)
from .preview import (
    LINT_KEY,
    MIGRATIONS_KEY,
    PENDING_KEY,
    declared_files,
    describe,
    error_reason,
    lint_pending,
)

OPTION_KEYS = ("version", "baseline", "allow_dirty", "exec_order", "tx_mode", "lock_timeout",
               "revisions_schema", "allow_changed")
PROJECT_KEYS = ("config", "env", "vars")  # an atlas.hcl env fills what is not given
INPUT_KEYS = ("url", "dir") + OPTION_KEYS + (LINT_KEY,) + PROJECT_KEYS
CHECKED_KEYS = INPUT_KEYS + ("sum", "target_version", MIGRATIONS_KEY)

PLAN_URL_UNKNOWN = "pending unknown until the database exists"

@error_first
class MigrationProvider(ResourceProvider):
    """Diffs the declared version against the revisions table and applies what is pending.

    Constructible with no arguments; holds no connections or state, so one instance is safe
    under the provider server's worker threads and many resources migrate in parallel.
    """

    serialize_as_secret_always = False

    # --- preview ----------------------------------------------------------------------------

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Normalize inputs and describe the declared files read-only (tolerates unknown URLs
        and unreachable databases). History problems, a version below the applied one, an
        applied file whose content changed and a file that does not split are check failures.
        What ``up`` would do is logged, not stored (see ``preview``)."""
        news, project_failure = _from_project(news)
        if project_failure is not None:
            return CheckResult(pick(news, INPUT_KEYS), [project_failure])
        inputs = _normalized(news)
        failures: list[CheckFailure] = []
        try:
            options = _options(inputs)
        except ConfigError as err:
            failures.append(CheckFailure(_property(err, "version"), resource_message(err)))
            options = Options()
        failures.extend(_policy_failures(inputs.get(LINT_KEY)))
        path = inputs.get("dir")
        directory: MigrationDir | None = None
        if is_unknown(path):
            inputs["sum"] = inputs["target_version"] = inputs[MIGRATIONS_KEY] = Unknown()
        else:
            try:
                directory, sums = load_directory(path)
            except MigrateError as err:
                failures.append(CheckFailure("dir", dir_failure_reason(err)))
            else:
                inputs["sum"] = sums.total
                failures.extend(_declared_version_failures(inputs, directory))
        url = inputs.get("url")
        if failures:
            return CheckResult(inputs, failures)
        if directory is None:
            inputs[PENDING_KEY] = Unknown()
            return CheckResult(inputs, [])
        if is_unknown(url):
            return self._describe(inputs, olds, directory, None, None, PLAN_URL_UNKNOWN)
        if not isinstance(url, str) or not url:
            return CheckResult(inputs, [CheckFailure("url", "give a database URL (database= or url=)")])
        conn = None  # one connection per check: the status look, then the lint's live facts
        try:
            try:
                target = Target.parse(url)
                conn = engine.look_connection(target, options)
                status = engine.status(target, directory, options, conn=conn)
            except ConfigError as err:
                return CheckResult(inputs, [CheckFailure(_property(err, "url"), resource_message(err))])
            except ConnectError as err:
                return self._describe(inputs, olds, directory, target, None,
                                      f"pending unknown: the database is unreachable at preview ({err})")
            except HistoryError as err:
                return CheckResult(inputs, [CheckFailure(_history_property(err), resource_message(err))])
            except DirError as err:
                return CheckResult(inputs, [CheckFailure("dir", dir_failure_reason(err))])
            except MigrateError as err:
                return self._describe(inputs, olds, directory, target, None, f"pending unknown: {err}")
            down = _down_failure(inputs.get("target_version"), status.current_version, directory)
            if down:
                return CheckResult(inputs, [down])
            if status.out_of_order:
                reason = status.error or ("files were added before the last applied version: "
                                          + ", ".join(status.out_of_order))
                return CheckResult(inputs, [CheckFailure("dir", reason + HINT_WORDS["exec_order"])])
            return self._describe(inputs, olds, directory, target, status, _plan(status), conn)
        finally:
            if conn is not None:
                conn.close()

    @staticmethod
    def _describe(inputs: dict[str, Any], olds: dict[str, Any], directory: MigrationDir,
                  target: Target | None, status: StatusReport | None, plan: str,
                  conn: Connection | None = None) -> CheckResult:
        """Add ``migrations`` (with the pending files' findings) and ``__pending`` (absent when
        the database is unreachable, unknown with the URL); log the plan line when something is
        (or may be) pending. An error-severity finding fails the check. The live facts are read
        through ``conn`` (the status look's) when given."""
        pending = None if status is None else list(status.pending)
        files = declared_files(directory, inputs.get("target_version"))
        policy = inputs.get(LINT_KEY)
        olds = olds or {}
        try:
            linted = lint_pending(files, target, olds, pending,
                                  None if is_unknown(policy) else policy, conn)
            inputs[MIGRATIONS_KEY] = describe(files, target.dialect if target else None,
                                              olds, pending, linted.lines)
        except ParseError as err:
            return CheckResult(inputs, [CheckFailure("dir", dir_failure_reason(err))])
        if linted.errors and not is_unknown(policy):
            return CheckResult(inputs, [CheckFailure("dir", error_reason(f)) for f in linted.errors])
        if pending is not None:
            inputs[PENDING_KEY] = pending
        elif target is None:  # preview only: the URL is an output of a resource not created yet
            inputs[PENDING_KEY] = Unknown()
        if pending != []:
            log(f"{target.redacted() if target else 'preview'}: {plan}")
            if linted.note:
                log(f"{target.redacted() if target else 'preview'}: {linted.note}")
        return CheckResult(inputs, [])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """An update when something is pending, the URL or an option changed; when pending is
        unknown (unreachable database), when the directory or declared version moved."""
        changed = changed_keys(olds, news, ("url",) + OPTION_KEYS)
        pending = news.get(PENDING_KEY)
        if isinstance(pending, list):
            if pending:
                changed.append("pending")
        else:
            changed += changed_keys(olds, news, ("sum",))
            target = news.get("target_version")
            if is_unknown(target) or target != olds.get("applied_version"):
                changed.append("target_version")
        return DiffResult(changes=bool(changed), replaces=[], delete_before_replace=False)

    # --- up ---------------------------------------------------------------------------------

    def create(self, props: dict[str, Any]) -> CreateResult:
        """Apply pending files. A failure raises (file, statement, database error); the
        revisions table keeps the progress and the next ``up`` resumes."""
        return CreateResult(new_id("migration"), self._apply(props))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """Apply pending files; returns the full new state."""
        return UpdateResult(self._apply(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Re-read the revisions table (picks up migrations applied out of band)."""
        outs = dict(props)
        try:
            directory, _ = load_directory(props.get("dir"))
        except (ConfigError, DirError) as err:
            # The checkout moved (a path change is not a diff) or is broken: the revisions
            # table alone still tells what is applied.
            return ReadResult(id_, _outputs_from_history(outs, err))
        try:
            status = engine.status(Target.parse(props["url"]), directory, _options(props))
        except (ConnectError, ConfigError, DirError) as err:
            log(f"refresh kept the recorded migration state: {err}")
            return ReadResult(id_, outs)
        except MigrateError as err:
            outs.update(status="FAILED", error=str(err))
            return ReadResult(id_, outs)
        outs.update(_status_outputs(status))
        return ReadResult(id_, outs)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """Leave the schema in place (down migrations are not supported) and say so."""
        log(f"{where(props.get('url'))}: migration removed from the stack; the schema and the revisions table "
            "are left in place (destroy never rolls back migrations)")

    @staticmethod
    def _apply(props: dict[str, Any]) -> dict[str, Any]:
        options = _options(props)
        directory, sums = load_directory(props.get("dir"))
        if props.get("sum") and props["sum"] != sums.total:
            raise ConfigError(
                f"applying {directory.where}: the directory changed after it was checked; "
                "run the update again")
        target = Target.parse(props["url"])
        # A MigrateError leaves through error_first, worded with the resource's input names.
        report = engine.apply(target, directory, options, logger=_Progress(target.redacted()))
        outs = pick(props, CHECKED_KEYS)
        outs["applied"] = list(report.applied)
        # A successful apply reached its target: nothing up to it is pending, no error is left.
        # Said from the report, not by reading the revisions table again (one connection and
        # one look less per resource; measured in tests/bench/bench_tenants.py).
        from ..dialects import for_target

        schema = for_target(target).revisions_schema(target, options.revisions_schema)
        after = StatusReport(status="OK", current_version=report.current_version, next_version=None,
                             latest_version=directory.latest_version,
                             target_version=report.current_version, executed=0,
                             revisions_table=f"{schema}.atlas_schema_revisions")
        outs.update(_status_outputs(after))
        return outs


# --- helpers ----------------------------------------------------------------------------------


def _outputs_from_history(outs: dict[str, Any], dir_error: MigrateError) -> dict[str, Any]:
    """Refresh from the revisions table only (the directory could not be read)."""
    try:
        revs = engine.history(Target.parse(outs["url"]), _options(outs))
    except MigrateError as err:
        log(f"refresh kept the recorded migration state: {err}")
        return outs
    log(f"refresh read the revisions table only: the migration directory is unavailable ({dir_error})")
    last = revs[-1] if revs else None
    outs.update(applied_version=last.version if last else None, error=None, error_statement=None)
    if last is not None and (last.partial or last.error):
        outs.update(status="FAILED", error=last.error or None, error_statement=last.error_stmt or None)
    elif last is not None and last.version == outs.get("target_version"):
        outs.update(status="OK", pending=[])
    return outs


def _from_project(news: dict[str, Any]) -> tuple[dict[str, Any], CheckFailure | None]:
    """With ``config`` and ``env``: the inputs with what the env sets (url, dir, migration
    options) filled in where the resource does not give them; while the project's inputs are
    unknown (preview), the filled ones are unknown. Returns (inputs, a failure or None)."""
    config, env, variables = news.get("config"), news.get("env"), news.get("vars")
    if config is None and env is None:
        if variables is not None:
            return news, CheckFailure("vars", "vars sets atlas.hcl variables: give config= and env= too")
        return news, None
    if config is None or env is None:
        missing = "env" if env is None else "config"
        return news, CheckFailure(missing, "give both config= (the atlas.hcl path) and env= "
                                           "(the env block to read)")
    out = dict(news)
    fillable = ("url", "dir") + tuple(k for k in OPTION_KEYS if k not in ("version", "allow_dirty",
                                                                           "allow_changed"))
    if is_unknown(config) or is_unknown(env) or is_unknown(variables) or (
            isinstance(variables, dict) and any(is_unknown(v) for v in variables.values())):
        for key in fillable:
            if out.get(key) is None:
                out[key] = Unknown()
        return out, None
    if variables is not None and not isinstance(variables, dict):
        return news, CheckFailure("vars", "vars must be a map of variable names to values")
    from ..atlashcl import env_settings

    try:
        settings = env_settings(str(config), str(env), variables)
    except ConfigError as err:  # about config, env or vars (its option), in the inputs' words
        return news, CheckFailure(err.option or "config", resource_message(err))
    for key, value in settings.items():
        if out.get(key) is None:
            out[key] = value
    return out, None


def _normalized(news: dict[str, Any]) -> dict[str, Any]:
    """The user inputs with defaults filled in, so state and diffs are explicit and stable."""
    inputs = pick(news, INPUT_KEYS)
    for key in ("version", "baseline"):
        if key in inputs and not is_unknown(inputs[key]):
            inputs[key] = as_version(inputs[key])
            if inputs[key] is None:
                del inputs[key]
    defaults: dict[str, Any] = {"allow_dirty": False, "exec_order": "linear", "tx_mode": "file",
                                "lock_timeout": 10.0, "allow_changed": False}
    for key, default in defaults.items():
        inputs.setdefault(key, default)
    for key in ("allow_dirty", "allow_changed"):
        if not is_unknown(inputs[key]):
            inputs[key] = as_bool(inputs[key])
    if not is_unknown(inputs["lock_timeout"]):
        try:
            inputs["lock_timeout"] = as_float(inputs["lock_timeout"], 10.0)
        except ConfigError:
            pass  # reported by _options
    return inputs


def _options(props: dict[str, Any]) -> Options:
    """Build engine options from (normalized) inputs. Raises ConfigError for bad values."""
    known = {k: v for k, v in props.items() if not is_unknown(v)}
    return Options(
        revisions_schema=known.get("revisions_schema") or None,
        baseline=as_version(known.get("baseline")),
        allow_dirty=as_bool(known.get("allow_dirty")),
        exec_order=str(known.get("exec_order") or "linear"),
        tx_mode=str(known.get("tx_mode") or "file"),
        to_version=as_version(known.get("version")),
        lock_timeout=as_float(known.get("lock_timeout"), 10.0, "lock_timeout"),
        allow_changed=as_bool(known.get("allow_changed")),
    )


def _policy_failures(policy: Any) -> list[CheckFailure]:
    """A ``lint`` input that is not a policy mapping, or names an unknown category, code or
    level."""
    if policy is None or is_unknown(policy):
        return []
    if not isinstance(policy, dict):
        return [CheckFailure(LINT_KEY, 'reading the lint policy: give a mapping such as '
                                       '{"destructive": "warn", "DS103": "off"}')]
    try:
        lint.resolve_policy(policy)
    except ConfigError as err:
        return [CheckFailure(LINT_KEY, resource_message(err))]
    return []


def _property(err: MigrateError, default: str) -> str:
    """The input a check failure points at: the one the error is about, else ``default``."""
    option = err.option
    if option is None:
        return default
    return "version" if option in ("to_version", "amount") else option


def _history_property(err: HistoryError) -> str:
    if isinstance(err, VersionError):
        return "version"
    if isinstance(err, AppliedFileChangedError):
        return "dir"
    return "url"


def _declared_version_failures(inputs: dict[str, Any], directory: MigrationDir) -> list[CheckFailure]:
    """Set ``target_version``; fail when the declared version has no file."""
    version = inputs.get("version")
    if is_unknown(version):
        inputs["target_version"] = Unknown()
        return []
    if version is not None and directory.file(version) is None:
        versions = ", ".join(f.version for f in directory.files[-3:]) or "none"
        return [CheckFailure("version", f"checking the declared version: no file in {directory.where} "
                                        f"has version {version!r} (latest versions: {versions}); "
                                        "declare a version of the directory or omit it")]
    target = version or directory.latest_version
    if target is not None:
        inputs["target_version"] = target
    return []


def _down_failure(target: Any, current: str | None, directory: MigrationDir) -> CheckFailure | None:
    """A declared version below the applied one is an error, never a silent no-op."""
    if not isinstance(target, str) or current is None or target == current:
        return None
    order = [f.version for f in directory.files]
    if target in order and current in order and order.index(target) < order.index(current):
        return CheckFailure(
            "version",
            f"checking the declared version: {target} is below the applied version {current}; "
            "down migrations are not supported yet: declare version "
            f"{current} or later (or remove the version to follow the directory)")
    return None


def _plan(status: StatusReport) -> str:
    """One line saying what ``up`` would do."""
    if not status.pending:
        if status.current_version is None:
            return "nothing to apply (the directory has no migration files)"
        return f"up to date at version {status.current_version}"
    files = ", ".join(status.pending)
    current = status.current_version or "none"
    if status.partial:
        current += " (partially applied)"
    line = f"up applies {len(status.pending)} file(s), version {current} -> {status.target_version}: {files}"
    if status.partial:
        line += (f"; {status.pending[0]} resumes after statement {status.applied_statements} of "
                 f"{status.total_statements} (last error: {status.error})")
    return line


def _status_outputs(status: StatusReport) -> dict[str, Any]:
    """Outputs that describe the revisions table as ``status`` read it."""
    return {
        "applied_version": status.current_version,
        "pending": list(status.pending),
        "status": "FAILED" if status.error else status.status,
        "error": status.error,
        "error_statement": status.error_statement,
        "revisions_table": status.revisions_table,
        "plan": _plan(status),
    }


class _Progress:
    """Engine logger printing one line per file (stderr, flushed); never the password."""

    def __init__(self, where: str) -> None:
        self.where = where

    def statements_run(self, file: str, statements: object, start: int, stop: int) -> None:
        """Statements print nothing here: taken in bulk, so none becomes an event."""

    def __call__(self, event: events.Event) -> None:
        if isinstance(event, events.ExecutionStarted) and event.files:
            log(f"{self.where}: migrating from version {event.current or 'none'} to "
                f"{event.target}: {len(event.files)} file(s)")
        elif isinstance(event, events.FileStarted):
            resume = f", resuming after statement {event.resume_from}" if event.resume_from else ""
            log(f"{self.where}: applying {event.file} ({event.index}/{event.count}{resume})")
        elif isinstance(event, events.ExecutionFailed):
            log(f"{self.where}: failed at {event.file}: {event.error}")
        elif isinstance(event, events.ExecutionDone):
            log(f"{self.where}: applied {len(event.applied)} file(s), {event.statements} statement(s)")
