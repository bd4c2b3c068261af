"""PostgreSQL locking hazards, read from pglast's parse tree (PostgreSQL's own parser).

``locking(stmt, file, state, emit)`` reports, for statements on tables that already exist
(not created by a pending file):

- PG101 ``CREATE INDEX`` without ``CONCURRENTLY`` (a SHARE lock: writes wait for the build) and
  PG102 ``DROP INDEX`` without it (Atlas's concurrent_index analyzer, same wording);
- PG103 ``CREATE/DROP INDEX CONCURRENTLY`` or ``REINDEX … CONCURRENTLY`` in a file that runs in a
  transaction (no ``-- atlas:txmode none`` header): PostgreSQL refuses it, so this is an error
  by default (also for new tables: it fails either way);
- PM201 ``ADD CONSTRAINT … FOREIGN KEY``/``CHECK`` without ``NOT VALID``;
- PM202 ``ADD CONSTRAINT … UNIQUE``/``PRIMARY KEY`` not ``USING INDEX``, or inline on ``ADD COLUMN``;
- PM203 ``ALTER COLUMN … SET NOT NULL``;
- PM204 ``ALTER COLUMN … TYPE`` (left out when live facts show a binary-coercible change);
- PM205 ``ADD COLUMN`` whose default is volatile (or may be: a function we do not know to be
  stable), a serial, an identity or a stored generated column: PostgreSQL 11+ rewrites only
  then (a constant default is a catalog change).

These are the hazards squawk checks under the rule names listed in ``findings.CODES``; see the
README for why we read them ourselves rather than run squawk.
"""

from __future__ import annotations

from pglast import ast
from pglast.enums import AlterTableType, ConstrType, ObjectType

from ..migdir import MigrationFile

__all__ = ["locking", "changes_schema"]

# Functions a default may call without making it volatile (immutable or stable ones).
_STABLE = {"now", "transaction_timestamp", "statement_timestamp", "current_timestamp",
           "current_date", "localtimestamp", "lower", "upper", "btrim", "trim", "concat",
           "to_json", "to_jsonb", "json_build_object", "jsonb_build_object", "json_build_array",
           "jsonb_build_array", "make_interval", "make_date", "to_timestamp", "to_char",
           "length", "abs", "round", "array_fill", "current_setting", "current_user",
           "session_user", "coalesce", "greatest", "least", "int4", "int8", "text"}
# Atlas's PG103 text (postgrescheck), reported here at each statement rather than once at L1.
_NO_TX = ("Indexes cannot be created or deleted concurrently within a transaction. Add the "
          "`atlas:txmode none` directive to the header to prevent this file from running in a "
          "transaction")
_SERIALS = {"serial", "serial4", "bigserial", "serial8", "smallserial", "serial2"}


def _q(s: str | None) -> str:
    s = s or ""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _rel(rv: ast.RangeVar | None) -> str:
    if rv is None:
        return ""
    return f"{rv.schemaname}.{rv.relname}" if rv.schemaname else (rv.relname or "")


def _funcs(node: object) -> list[str]:
    """Names of the functions a default expression calls (any depth)."""
    out: list[str] = []

    def walk(n: object) -> None:
        if isinstance(n, ast.FuncCall) and n.funcname:
            out.append(str(n.funcname[-1].sval).lower())
        if isinstance(n, ast.Node):
            for name in n:
                walk(getattr(n, name))
        elif isinstance(n, tuple):
            for x in n:
                walk(x)

    walk(node)
    return out


#: ``ALTER TABLE`` actions the shared analyzers read (drops, adds, renames, types, NOT NULL).
_READ_ACTIONS = {AlterTableType.AT_AddColumn, AlterTableType.AT_DropColumn,
                 AlterTableType.AT_SetNotNull, AlterTableType.AT_AlterColumnType,
                 AlterTableType.AT_AddIndex, AlterTableType.AT_AddConstraint,
                 AlterTableType.AT_AddIndexConstraint, AlterTableType.AT_DropConstraint}


def changes_schema(trees: tuple[object, ...]) -> bool:
    """Whether PostgreSQL's parse of a statement holds a change the shared analyzers read: a
    DROP, CREATE INDEX, RENAME, or an ``ALTER TABLE`` with one of ``_READ_ACTIONS``
    (``VALIDATE CONSTRAINT``, ``SET STATISTICS``, ``OWNER TO`` … are not)."""
    for raw in trees:
        node = getattr(raw, "stmt", None)
        if isinstance(node, (ast.DropStmt, ast.IndexStmt, ast.RenameStmt)):
            return True
        if isinstance(node, ast.AlterTableStmt) and any(
                getattr(cmd, "subtype", None) in _READ_ACTIONS for cmd in node.cmds or ()):
            return True
    return False


def locking(s, f: MigrationFile, state, emit) -> None:
    trees = s.pg  # pglast's statements, parsed once per file content (``parsed``)
    if trees is None:
        return
    in_tx = f.txmode != "none"
    for raw in trees:
        node = raw.stmt
        if isinstance(node, ast.IndexStmt):
            table = _rel(node.relation)
            idx = node.idxname or "(unnamed)"
            if node.concurrent and in_tx:
                emit("PG103", _NO_TX, table)
            elif not node.concurrent and state.existing(table):
                emit("PG101", f"Creating index {_q(idx)} non-concurrently causes write locks on the "
                              f"{_q(table)} table", table)
            if not state.existing(table):
                state.new_indexes.add(idx.lower())
            state.index_tables[idx.lower()] = table
        elif isinstance(node, ast.DropStmt) and node.removeType == ObjectType.OBJECT_INDEX:
            if node.concurrent and in_tx:
                emit("PG103", _NO_TX, None)
            elif not node.concurrent:
                for obj in node.objects or ():
                    idx = obj[-1].sval
                    if idx.lower() not in state.new_indexes:
                        table = state.index_tables.get(idx.lower())
                        where = f"the {_q(table)} table" if table else "its table"
                        emit("PG102", f"Dropping index {_q(idx)} non-concurrently causes write locks "
                                      f"on {where}", table)
        elif isinstance(node, ast.ReindexStmt) and in_tx and any(
                getattr(p, "defname", "") == "concurrently" for p in node.params or ()):
            emit("PG103", _NO_TX, None)
        elif isinstance(node, ast.AlterTableStmt) and node.relation is not None:
            table = _rel(node.relation)
            if state.existing(table):
                for cmd in node.cmds or ():
                    _alter_cmd(cmd, table, state, emit)


def _alter_cmd(cmd: ast.AlterTableCmd, table: str, state, emit) -> None:
    sub = cmd.subtype
    if sub == AlterTableType.AT_AddConstraint and isinstance(cmd.def_, ast.Constraint):
        c = cmd.def_
        name = _q(c.conname) if c.conname else "(unnamed)"
        if c.contype in (ConstrType.CONSTR_FOREIGN, ConstrType.CONSTR_CHECK) and not c.skip_validation:
            kind = "foreign-key" if c.contype == ConstrType.CONSTR_FOREIGN else "check"
            emit("PM201", f"Adding {kind} constraint {name} without NOT VALID scans table "
                          f"{_q(table)} while writes wait; add it NOT VALID, then VALIDATE CONSTRAINT "
                          "in a later statement", table)
        elif c.contype in (ConstrType.CONSTR_UNIQUE, ConstrType.CONSTR_PRIMARY) and not c.indexname:
            kind = "unique" if c.contype == ConstrType.CONSTR_UNIQUE else "primary-key"
            emit("PM202", f"Adding {kind} constraint {name} builds its index under an ACCESS "
                          f"EXCLUSIVE lock on {_q(table)}; create a unique index CONCURRENTLY and "
                          "add the constraint USING INDEX", table)
    elif sub == AlterTableType.AT_SetNotNull:
        cf = state.column(table, cmd.name)
        if cf is None or cf.nullable:
            emit("PM203", f"Setting column {_q(cmd.name)} NOT NULL scans table {_q(table)} under "
                          "an ACCESS EXCLUSIVE lock (reads and writes wait); add a CHECK (… IS NOT "
                          "NULL) NOT VALID constraint, validate it, then set NOT NULL", table)
    elif sub == AlterTableType.AT_AlterColumnType and isinstance(cmd.def_, ast.ColumnDef):
        cf = state.column(table, cmd.name)
        new = _type_name(cmd.def_.typeName)
        if cf is not None:
            from .types import pg_coercible

            if pg_coercible(cf.type, new):
                return
        emit("PM204", f"Changing the type of column {_q(cmd.name)} rewrites table {_q(table)} and "
                      "its indexes under an ACCESS EXCLUSIVE lock"
                      + ("" if cf is not None else " (unless the change is binary-coercible, "
                         "e.g. varchar to text)"), table)
    elif sub == AlterTableType.AT_AddColumn and isinstance(cmd.def_, ast.ColumnDef):
        col = cmd.def_
        why = None
        tname = _type_name(col.typeName)
        if tname in _SERIALS:
            why = f"its type {tname} fills every row from a sequence"
        for c in col.constraints or ():
            if c.contype == ConstrType.CONSTR_DEFAULT:
                calls = _funcs(c.raw_expr)
                unknown = [fn for fn in calls if fn not in _STABLE]
                if unknown:
                    why = f"its default calls {unknown[0]}(), evaluated for every existing row"
            elif c.contype == ConstrType.CONSTR_GENERATED:
                why = "it is a stored generated column"
            elif c.contype == ConstrType.CONSTR_IDENTITY:
                why = "it is an identity column"
            elif c.contype in (ConstrType.CONSTR_UNIQUE, ConstrType.CONSTR_PRIMARY):
                kind = "unique" if c.contype == ConstrType.CONSTR_UNIQUE else "primary-key"
                emit("PM202", f"Adding column {_q(col.colname)} with a {kind} constraint builds its "
                              f"index under an ACCESS EXCLUSIVE lock on {_q(table)}; add the column, "
                              "create a unique index CONCURRENTLY and add the constraint USING INDEX",
                     table)
        if why:
            emit("PM205", f"Adding column {_q(col.colname)} rewrites table {_q(table)} under an "
                          f"ACCESS EXCLUSIVE lock: {why}", table)


def _type_name(tn: ast.TypeName | None) -> str:
    """A TypeName back as SQL (``pg_catalog.int8`` -> ``bigint``), via pglast's printer."""
    if tn is None:
        return ""
    from pglast.stream import RawStream

    try:
        return RawStream()(tn).lower()
    except Exception:
        return str(tn.names[-1].sval).lower() if tn.names else ""
