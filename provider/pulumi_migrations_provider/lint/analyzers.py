"""The analyzers: pending files in, findings out. Every statement is parsed, never pattern-matched.

sqlglot parses every statement for the changes all three dialects share (drops, renames,
unique indexes, NOT NULL, type changes, foreign keys, MySQL table copies, the SQLite rebuild
pattern); for PostgreSQL, pglast (PostgreSQL's own parser) adds the locking hazards
(``postgres.py``). One ``_State`` runs across the pending files in order, so a table created by
an earlier pending file is new, not "existing", for every later statement (Atlas only knows
this within one file); an added column counts as new only within its file, as in Atlas. With
live ``Facts``, a table's rows/bytes go into its findings and its columns sharpen some checks
(``_State.column`` follows the pending statements' own changes to them).

Contract: ``analyze_files(files, dialect, facts, levels)`` returns findings in file order, then
statement order, then analyzer order; a statement neither parser understands is skipped (no
finding is invented for it). Split errors (``ParseError``) and encoding errors propagate.
The statements come parsed from ``parsed`` (once per file content and dialect in the process,
shared: nothing here changes a tree).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.tokens import TokenType

from .. import lex
from ..migdir import MigrationFile
from .facts import ColumnFacts, Facts, table_key
from .findings import CODES, Finding
from .nolint import silenced
from .parsed import DIALECTS, Parsed, parsed

__all__ = ["analyze_files", "DIALECTS"]


class _Stmt:
    """One statement of one pending file, parsed once (``parsed``: shared, read only)."""

    __slots__ = ("file", "index", "stmt", "tree", "pg", "rules")

    def __init__(self, file: MigrationFile, index: int, p: Parsed) -> None:
        self.file, self.index = file, index
        self.stmt: lex.Statement = p.stmt
        self.tree: exp.Expression | None = p.tree
        self.pg: tuple[Any, ...] | None = p.pg
        self.rules: list[str] = p.rules

    @property
    def line(self) -> int:
        return self.stmt.line


class _State:
    """What the pending files have done so far: tables they created (keys), columns they added
    (key, column), foreign keys they added (key, name), and renamed tables (new key -> old)."""

    def __init__(self, dialect: str, facts: Facts | None) -> None:
        self.dialect, self.facts = dialect, facts
        self.created: set[str] = set()
        self.added: set[tuple[str, str]] = set()
        self.fks: dict[tuple[str, str], tuple[str, ...]] = {}  # (table, fk) -> its columns
        self.renamed: dict[str, str] = {}
        self.skip: set[tuple[str, int]] = set()  # statements consumed by a pattern
        self.columns: dict[tuple[str, str], ColumnFacts] = {}  # changed by pending statements
        self.new_indexes: set[str] = set()  # indexes pending files created on new tables
        self.index_tables: dict[str, str] = {}  # index -> table, for indexes pending files create
        self.created_schemas: set[str] = set()  # schemas the current file creates (lower case)
        self.dropped_schemas: set[str] = set()  # ... and those it drops without creating them

    def key(self, name: str) -> str:
        return table_key(name, self.dialect)

    def existing(self, name: str) -> bool:
        return self.key(name) not in self.created

    def column(self, table: str, col: str) -> ColumnFacts | None:
        """The column as the statements so far left it: facts, then pending changes."""
        key = (self.key(table), col.lower())
        if key in self.columns:
            return self.columns[key]
        tf = self.facts_for(table)
        return tf.columns.get(col.lower()) if tf is not None else None

    def set_column(self, table: str, col: str, type_: str | None = None,
                   nullable: bool | None = None) -> None:
        cf = self.column(table, col)
        if cf is None:
            return
        self.columns[(self.key(table), col.lower())] = ColumnFacts(
            col, cf.type if type_ is None else type_, cf.nullable if nullable is None else nullable)

    def facts_for(self, name: str | None):
        if name is None or self.facts is None:
            return None
        key = self.key(name)
        return self.facts.table(self.renamed.get(key, key))


# Within one statement, findings come in Atlas's analyzer order, then ours.
_RANK = {c: i for i, c in enumerate(("destructive", "data_depend", "condrop", "incompatible",
                                     "inline_refs", "concurrent_index", "locking", "table_copy",
                                     "unparsed"))}


class _Emit:
    """Collects findings for one statement, applying policy, nolint and facts."""

    def __init__(self, out: list[Finding], levels: dict[str, str], state: _State) -> None:
        self.out, self.levels, self.state = out, levels, state
        self.current: _Stmt | None = None
        self.keys: list[tuple[int, int, int, int]] = []
        self.file_index = 0

    def __call__(self, code: str, message: str, table: str | None) -> None:
        s = self.current
        assert s is not None
        c = CODES[code]
        level = self.levels[code]
        if level == "off" or silenced(s.rules, code, c.category):
            return
        tf = self.state.facts_for(table) if table is not None and self.state.existing(table) else None
        self.out.append(Finding(s.file.name, s.line, s.stmt.text, code, c.category, level, message,
                                table, tf.rows if tf else None, tf.bytes if tf else None))
        self.keys.append((self.file_index, s.index, _RANK[c.category], len(self.keys)))

    def ordered(self) -> list[Finding]:
        return [f for _, f in sorted(zip(self.keys, self.out), key=lambda kf: kf[0])]


def _name(node: exp.Expression | None) -> str:
    """A table/column/index name as written, without quotes (schema-qualified when given)."""
    if node is None:
        return ""
    if isinstance(node, exp.Table):
        parts = [p.name for p in (node.args.get("catalog"), node.args.get("db"), node.this) if p]
        return ".".join(parts)
    if isinstance(node, exp.Identifier):
        return node.name
    return node.name if hasattr(node, "name") and node.name else node.sql()


def _q(s: str) -> str:
    """Go's %q for a plain name (what Atlas prints)."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _and(names: list[str]) -> str:
    quoted = [_q(n) for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def analyze_files(files: Sequence[MigrationFile], dialect: str, facts: Facts | None,
                  levels: dict[str, str]) -> list[Finding]:
    state = _State(dialect, facts)
    out: list[Finding] = []
    emit = _Emit(out, levels, state)
    pg: Any = None
    if dialect == "postgres":  # pglast (~35 ms to import) only where PostgreSQL is linted
        from . import postgres

        pg = postgres
    for emit.file_index, f in enumerate(files):
        state.added.clear()  # column spans are per file, as Atlas's (tables span the pending set)
        # A file whose header holds a bare nolint is still analysed, all silenced (its rules):
        # later files see its changes.
        stmts = [_Stmt(f, i, p) for i, p in enumerate(parsed(f, dialect).statements)]
        state.created_schemas, state.dropped_schemas = _schema_spans(stmts)
        for s in stmts:
            emit.current = s
            if (f.name, s.index) in state.skip:
                continue
            if dialect == "sqlite" and _sqlite_rebuild(s, stmts, state, emit):
                continue
            if pg is not None:  # before _generic: it must see tables as they were
                pg.locking(s, f, state, emit)
            if s.tree is not None:
                _generic(s, stmts, state, emit)
            _unread(s, state, emit)
    return emit.ordered()


#: The statements whose changes the analyzers read; one the parser does not read is PM001.
_LINTED_HEADS = (("ALTER", "TABLE"), ("DROP", "TABLE"), ("DROP", "SCHEMA"), ("DROP", "DATABASE"),
                 ("DROP", "INDEX"), ("CREATE", "INDEX"), ("CREATE", "UNIQUE"), ("RENAME", "TABLE"))


def _unread(s: _Stmt, state: _State, emit: _Emit) -> None:
    """PM001: an ``ALTER TABLE``/``DROP``/``CREATE INDEX``/``RENAME TABLE`` that sqlglot does not
    read (no tree, a bare ``Command``, or an ``ALTER TABLE`` with an action it keeps as text)
    would otherwise pass with no finding, whatever it drops or locks: say so. Atlas needs no
    such code (it runs each statement on a dev database and diffs the schema)."""
    t = s.tree
    if isinstance(t, exp.Alter):
        if not any(isinstance(a, exp.Command) for a in t.args.get("actions") or []):
            return
    elif t is not None and not isinstance(t, exp.Command):
        return
    if isinstance(t, exp.Command) and state.dialect == "mysql" and t.name.upper() == "RENAME" \
            and _rename_pairs(t):
        return  # RENAME TABLE: read from its tokens
    if state.dialect == "postgres":
        from .postgres import changes_schema

        # pglast refusing it: PostgreSQL refuses it too (the run stops there, loudly)
        if s.pg is None or not changes_schema(s.pg):
            return
    try:
        words = [tk.text.upper() for tk in sqlglot.tokenize(s.stmt.text, read=DIALECTS[state.dialect][0])[:4]]
    except Exception:
        return
    if words[:1] == ["ALTER"] and words[1:2] == ["ONLINE"]:  # MariaDB's ALTER ONLINE TABLE
        words = words[:1] + words[2:]
    head = tuple(words[:2])
    if head not in _LINTED_HEADS:
        return
    what = " ".join(("CREATE", "UNIQUE", "INDEX") if head == ("CREATE", "UNIQUE") else head)
    emit("PM001", f"{what} not linted: the SQL parser does not read this statement; check by "
                  "hand what it drops, renames, rewrites or locks", None)


# --- the changes all dialects share ----------------------------------------------------------


def _generic(s: _Stmt, stmts: list[_Stmt], state: _State, emit: _Emit) -> None:
    t = s.tree
    if isinstance(t, exp.Drop):
        _drop(t, state, emit)
    elif isinstance(t, exp.Create):
        _create(t, state, emit)
    elif isinstance(t, exp.Alter) and str(t.args.get("kind", "")).upper() == "TABLE":
        _alter(s, t, stmts, state, emit)
    elif isinstance(t, exp.Command) and state.dialect == "mysql":
        _mysql_command(s, stmts, state, emit)


def _drop(t: exp.Drop, state: _State, emit: _Emit) -> None:
    kind = str(t.args.get("kind", "")).upper()
    if kind in ("SCHEMA", "DATABASE"):
        for tb in t.args.get("tables") or [t.this]:
            if _schema_name(tb).lower() not in state.created_schemas:  # else temporary: no DS101
                emit("DS101", f"Dropping schema {_q(_schema_name(tb))}", None)
    elif kind == "TABLE":
        for tb in t.args.get("tables") or [t.this]:
            name = _name(tb)
            if not state.existing(name):
                state.created.discard(state.key(name))
            elif not (isinstance(tb, exp.Table) and tb.db and tb.db.lower() in state.dropped_schemas):
                # Atlas names the table without its schema, and says nothing of a table whose
                # schema the same file drops (DS101 says it)
                emit("DS102", f"Dropping table {_q(tb.name if isinstance(tb, exp.Table) else name)}", name)


def _schema_name(tb: exp.Expression) -> str:
    return _name(tb.args.get("db")) if isinstance(tb, exp.Table) and not tb.name else _name(tb)


def _schema_spans(stmts: list[_Stmt]) -> tuple[set[str], set[str]]:
    """The schemas a file creates, and those it drops but does not create (Atlas's SchemaSpan
    SpanAdded and SpanDropped), lower case."""
    dropped: set[str] = set()
    created: set[str] = set()
    for x in stmts:
        t = x.tree
        if isinstance(t, (exp.Drop, exp.Create)) and str(t.args.get("kind", "")).upper() in ("SCHEMA", "DATABASE"):
            names = {_schema_name(tb).lower() for tb in t.args.get("tables") or [t.this]}
            (dropped if isinstance(t, exp.Drop) else created).update(names)
    return created, dropped - created


def _create(t: exp.Create, state: _State, emit: _Emit) -> None:
    kind = str(t.args.get("kind", "")).upper()
    if kind == "TABLE":
        target = t.this
        table = target.this if isinstance(target, exp.Schema) else target
        name = _name(table)
        state.created.add(state.key(name))
        if isinstance(target, exp.Schema):
            for col in target.expressions:
                if isinstance(col, exp.ColumnDef):
                    _inline_ref(col, name, state, emit)
                if isinstance(col, exp.Constraint) and col.find(exp.ForeignKey):
                    state.fks[(state.key(name), col.name.lower())] = _fk_columns(col)
    elif kind == "INDEX" and t.args.get("unique"):
        index = t.this
        table = _name(index.args.get("table"))
        cols = [c.name for c in index.find_all(exp.Column)]
        _unique(_name(index.this) if index.this else (cols[0] if cols else ""), table, cols, state, emit)


def _unique(index: str, table: str, cols: list[str], state: _State, emit: _Emit) -> None:
    """MF101: a unique index on a table that exists, over columns not added by this file."""
    if not table or not state.existing(table):
        return
    key = state.key(table)
    old = [c for c in cols if (key, c.lower()) not in state.added]
    if not old:
        return
    which = f"column {_q(old[0])} contains" if len(old) == 1 else \
        f"columns {', '.join(_q(c) for c in old)} contain"
    emit("MF101", f"Adding a unique index {_q(index)} on table {_q(table)} might fail in case "
                  f"{which} duplicate entries", table)


def _inline_ref(col: exp.ColumnDef, table: str, state: _State, emit: _Emit) -> None:
    if state.dialect != "mysql":
        return
    if any(isinstance(c.args.get("kind"), exp.Reference) for c in col.args.get("constraints") or []):
        flavor = state.facts.flavor if state.facts is not None else None
        if flavor == "mariadb":
            return  # MariaDB 10.5+ turns an inline REFERENCES into a foreign key (tested live)
        emit("MY102", f"Defining column {_q(col.name)} on table {_q(table)} with inline "
                      "REFERENCES is ignored by MySQL", table)


def _constraint_kinds(col: exp.ColumnDef) -> set[type]:
    return {type(c.args.get("kind")) for c in col.args.get("constraints") or []}


def _is_not_null(col: exp.ColumnDef) -> bool:
    return any(isinstance(c.args.get("kind"), exp.NotNullColumnConstraint)
               and not c.args["kind"].args.get("allow_null")
               for c in col.args.get("constraints") or [])


def _has_default(col: exp.ColumnDef) -> bool:
    kinds = _constraint_kinds(col)
    return bool(kinds & {exp.DefaultColumnConstraint, exp.ComputedColumnConstraint,
                         exp.GeneratedAsIdentityColumnConstraint, exp.AutoIncrementColumnConstraint,
                         exp.GeneratedAsRowColumnConstraint})


# PostgreSQL's own names (format_type, and Atlas's postgres.FormatType) for sqlglot's types.
_PG_NAMES = {"INT": "integer", "BIGINT": "bigint", "SMALLINT": "smallint", "VARCHAR": "character varying",
             "CHAR": "character", "BOOLEAN": "boolean", "DOUBLE": "double precision", "FLOAT": "real",
             "TIMESTAMPTZ": "timestamp with time zone", "TIMESTAMP": "timestamp without time zone",
             "DECIMAL": "numeric", "TEXT": "text", "UUID": "uuid", "JSONB": "jsonb", "DATE": "date"}


def _type_text(col_type: exp.DataType | None, dialect: str) -> str:
    """A column type as the database names it (lower case)."""
    if col_type is None:
        return ""
    if dialect == "postgres" and col_type.this.name in _PG_NAMES:
        params = ",".join(p.sql("postgres") for p in col_type.expressions)
        return _PG_NAMES[col_type.this.name] + (f"({params})" if params else "")
    return col_type.sql(dialect={"postgres": "postgres", "mysql": "mysql"}.get(dialect, "sqlite")).lower()


def _alter(s: _Stmt, t: exp.Alter, stmts: list[_Stmt], state: _State, emit: _Emit) -> None:
    table = _name(t.this)
    existing = state.existing(table)
    key = state.key(table)
    dropped: list[str] = []
    # Atlas's condrop: no CD101 when the statement also drops one of the key's columns.
    gone = {_name(x).lower() for a in t.args.get("actions") or [] if isinstance(a, exp.Drop)
            and str(a.args.get("kind", "")).upper() == "COLUMN" for x in a.args.get("tables") or []}
    tf = state.facts_for(table)
    # MySQL's "DROP INDEX i, ADD UNIQUE INDEX i (…)": the same index made unique (MF102)
    rebuilt = {_name(x).lower() for a in t.args.get("actions") or [] if isinstance(a, exp.Drop)
               and str(a.args.get("kind", "")).upper() == "INDEX" for x in a.args.get("tables") or []}
    for action in t.args.get("actions") or []:
        if isinstance(action, exp.RenameColumn):
            old, new = action.this.name, action.args["to"].name
            if existing and (key, old.lower()) not in state.added and not _added_back(s, stmts, state, key, old):
                emit("BC102", f"Renaming column {_q(old)} to {_q(new)}", table)
            cf = state.column(table, old)
            if cf is not None:  # later statements name it by its new name
                state.columns[(key, new.lower())] = ColumnFacts(new, cf.type, cf.nullable, cf.virtual)
        elif isinstance(action, exp.AlterRename):
            new = _name(action.this)
            _rename_table(table, new, stmts[s.index + 1:], state, emit)
        elif isinstance(action, exp.Drop):
            kind = str(action.args.get("kind", "")).upper()
            names = [_name(x) for x in action.args.get("tables") or []]
            if kind == "COLUMN":
                dropped += [n for n in names if existing and (key, n.lower()) not in state.added
                            and not _virtual(state, table, n)]
            elif kind in ("FOREIGN KEY", "CONSTRAINT"):
                for n in names if existing else []:
                    fk = state.fks.get((key, n.lower()))
                    if fk is None and tf is not None:
                        fk = tf.foreign_keys.get(n.lower())
                    if fk is None and kind == "FOREIGN KEY":
                        fk = ()  # MySQL's DROP FOREIGN KEY names a foreign key, columns unknown
                    if fk is not None:
                        if not gone & set(fk):
                            emit("CD101", f"Dropping foreign-key constraint {_q(n)}", table)
                    elif tf is None or state.dialect == "sqlite":
                        emit("PM102", f"Dropping constraint {_q(n)} of table {_q(table)}", table)
        elif isinstance(action, exp.ColumnDef):
            _add_column(action, table, existing, state, emit)
        elif isinstance(action, exp.AddConstraint):
            for c in action.expressions:
                if isinstance(c, exp.UniqueColumnConstraint):
                    schema = c.this
                    cols = [x.name for x in (schema.expressions if isinstance(schema, exp.Schema) else [])]
                    idx = schema.this.name if isinstance(schema, exp.Schema) and schema.this else (cols[0] if cols else "")
                    if idx.lower() in rebuilt and existing:
                        # Atlas's diff of the statement sees the index of that name become
                        # unique (ModifyIndex), not a new one
                        emit("MF102", f"Modifying an index {_q(idx)} on table {_q(table)} might fail "
                                      "in case of duplicate entries", table)
                    else:
                        _unique(idx, table, cols, state, emit)
                elif isinstance(c, exp.Constraint) and c.find(exp.ForeignKey):
                    state.fks[(key, c.name.lower())] = _fk_columns(c)
                    _unique_in_constraint(c, table, state, emit)
                elif isinstance(c, exp.Constraint):
                    _unique_in_constraint(c, table, state, emit)
        elif isinstance(action, exp.AlterColumn):
            _alter_column(action, table, existing, s, stmts, state, emit)
        elif isinstance(action, exp.ModifyColumn):
            _mysql_modify(action, table, existing, s, stmts, state, emit)
    if dropped:
        word = "column" if len(dropped) == 1 else "columns"
        emit("DS103", f"Dropping non-virtual {word} {_and(dropped)}", table)
    if state.dialect == "mysql" and existing:
        acts = t.args.get("actions") or []
        adds_pk = any(isinstance(a, exp.AddConstraint) and any(isinstance(c, exp.PrimaryKey) for c in a.expressions)
                      for a in acts)
        if any(isinstance(a, exp.DropPrimaryKey) for a in acts) and not adds_pk:
            emit("PM301", f"Dropping the primary key of {_q(table)} without adding one copies the "
                          "table while writes wait", table)
        for opt in t.args.get("options") or []:
            if isinstance(opt, exp.AlgorithmProperty) and opt.name.upper() == "COPY":
                emit("PM301", f"ALGORITHM=COPY copies table {_q(table)} row by row while writes wait", table)


def _virtual(state: _State, table: str, col: str) -> bool:
    """A virtual generated column (live facts): dropping it loses nothing (Atlas: no DS103)."""
    cf = state.column(table, col)
    return cf is not None and cf.virtual


def _fk_columns(c: exp.Constraint) -> tuple[str, ...]:
    fk = c.find(exp.ForeignKey)
    return tuple(e.name.lower() for e in fk.expressions) if fk is not None else ()


def _unique_in_constraint(c: exp.Constraint, table: str, state: _State, emit: _Emit) -> None:
    """PostgreSQL/SQLite ``ADD CONSTRAINT name UNIQUE (cols)``."""
    for u in c.expressions:
        if isinstance(u, exp.UniqueColumnConstraint):
            schema = u.this
            cols = [x.name for x in (schema.expressions if isinstance(schema, exp.Schema) else [])]
            _unique(c.name or (cols[0] if cols else ""), table, cols, state, emit)


def _added_back(s: _Stmt, stmts: list[_Stmt], state: _State, key: str, old: str) -> bool:
    """Atlas's wasAddedBack: a later statement of the file adds a column with the old name."""
    for later in stmts[s.index + 1:]:
        t = later.tree
        if isinstance(t, exp.Alter) and state.key(_name(t.this)) == key:
            for a in t.args.get("actions") or []:
                if isinstance(a, exp.ColumnDef) and a.name.lower() == old.lower():
                    return True
    return False


def _rename_table(old: str, new: str, later: list[_Stmt], state: _State, emit: _Emit) -> None:
    old_key, new_key = state.key(old), state.key(new)
    if state.existing(old):
        if not _view_for_renamed(later, old_key, new_key, state):
            emit("BC101", f"Renaming table {_q(old)} to {_q(new)}", old)
        state.renamed[new_key] = state.renamed.pop(old_key, old_key)
    else:
        state.created.discard(old_key)
        state.created.add(new_key)


def _view_for_renamed(later: list[_Stmt], old_key: str, new_key: str, state: _State) -> bool:
    """Atlas's ViewForRenamedT: a later statement of the file creates a view with the old name
    over the renamed table, so readers of the old name keep working."""
    for x in later:
        t = x.tree
        if isinstance(t, exp.Create) and str(t.args.get("kind", "")).upper() == "VIEW":
            target = t.this.this if isinstance(t.this, exp.Schema) else t.this
            if state.key(_name(target)) == old_key and t.expression is not None and any(
                    state.key(_name(tb)) == new_key for tb in t.expression.find_all(exp.Table)):
                return True
    return False


def _filled_before(s: _Stmt, stmts: list[_Stmt], state: _State, table: str, col: str) -> bool:
    """Atlas's ColumnFilledBefore: an earlier statement of the file sets ``col`` of ``table`` to a
    non-NULL value (``UPDATE t SET c = … [WHERE c IS NULL]``)."""
    key = state.key(table)
    for x in stmts[:s.index]:
        t = x.tree
        if isinstance(t, exp.Update) and state.key(_name(t.this)) == key:
            for e in t.expressions:
                if (isinstance(e, exp.EQ) and e.this.name.lower() == col.lower()
                        and not isinstance(e.expression, exp.Null)):
                    return True
    return False


def _add_column(col: exp.ColumnDef, table: str, existing: bool, state: _State, emit: _Emit) -> None:
    key = state.key(table)
    state.added.add((key, col.name.lower()))
    _inline_ref(col, table, state, emit)
    if not existing or not _is_not_null(col) or _has_default(col):
        return
    dtype = col.args.get("kind")
    tt = _type_text(dtype, state.dialect)
    if state.dialect == "mysql":
        implicit = _mysql_implicit(dtype, table, state)
        if implicit is None:
            emit("MF103", f"Adding a non-nullable {_q(tt)} column {_q(col.name)} will fail in case "
                          f"table {_q(table)} is not empty", table)
        elif implicit:
            name, value = implicit
            emit("MY101", f"Adding a non-nullable {_q(name)} column {_q(col.name)} on table "
                          f"{_q(table)} without a default value implicitly sets existing rows with {value}",
                 table)
        return
    emit("MF103", f"Adding a non-nullable {_q(tt)} column {_q(col.name)} will fail in case table "
                  f"{_q(table)} is not empty", table)


_MYSQL_ZERO = {"TINYINT", "SMALLINT", "MEDIUMINT", "INT", "BIGINT", "UTINYINT", "USMALLINT",
               "UMEDIUMINT", "UINT", "UBIGINT", "BIT", "BOOLEAN", "DECIMAL", "UDECIMAL", "FLOAT",
               "DOUBLE", "UDOUBLE", "BINARY", "VARBINARY"}


def _mysql_type_name(dtype: exp.DataType) -> str:
    """A numeric or binary type as Atlas's ``mysql.FormatType`` names the column the server
    stores (what MY101 quotes): display widths dropped (``int(11)`` is ``int``), ``bool`` for
    BOOL/BOOLEAN/TINYINT(1), ``decimal(p)``/``decimal(p,s)`` (plain DECIMAL is decimal(10)),
    FLOAT(p > 24) is ``double``, BIT and BINARY without their default size of 1."""
    kind = dtype.this.name
    unsigned = kind.startswith("U") and kind not in ("UUID",)
    base = kind[1:] if unsigned else kind
    params = [p.sql("mysql") for p in dtype.expressions]
    suffix = " unsigned" if unsigned else ""
    if base == "BOOLEAN" or (base == "TINYINT" and params == ["1"]):
        return "bool"
    if base in ("TINYINT", "SMALLINT", "MEDIUMINT", "INT", "BIGINT"):
        return base.lower() + suffix
    if base == "DECIMAL":
        p, sc = (params[0] if params else "10"), (params[1] if len(params) > 1 else "0")
        return (f"decimal({p})" if sc == "0" else f"decimal({p},{sc})") + suffix
    if base == "FLOAT" and params and params[0].isdigit() and int(params[0]) > 24:
        return "double" + suffix
    if base in ("FLOAT", "DOUBLE"):
        return base.lower() + suffix
    if base in ("BIT", "BINARY") and params in ([], ["1"]):
        return base.lower()
    return _type_text(dtype, "mysql")


def _mysql_implicit(dtype: exp.DataType | None, table: str, state: _State):
    """Atlas's mysqlcheck addNotNull: (type, value) of the implicit update, None when the
    statement fails instead (MF103), () when neither applies."""
    if dtype is None:
        return ()
    kind = dtype.this.name
    maria = state.facts is None or state.facts.flavor != "mysql"
    if kind in _MYSQL_ZERO:
        return _mysql_type_name(dtype), "0"
    if kind in ("VARCHAR", "CHAR"):
        return kind.lower(), '""'
    if kind in ("TEXT", "TINYTEXT", "MEDIUMTEXT", "LONGTEXT", "JSON"):
        return (kind.lower(), '""') if maria else ()
    if kind == "ENUM":
        values = [v.name for v in dtype.expressions]
        return ("enum", _q(values[0])) if values else ()
    if kind == "SET":
        return "set", '""'
    if kind in ("DATE", "DATETIME"):
        return (kind.lower(), "00:00:00") if maria else None
    if kind == "YEAR":
        return "year", "0000"
    if kind == "TIME":
        return "time", "00:00:00"
    if kind in ("TIMESTAMP", "TIMESTAMPTZ"):  # sqlglot reads MySQL's TIMESTAMP as TIMESTAMPTZ
        # Without explicit_defaults_for_timestamp the first TIMESTAMP column of a table gets
        # CURRENT_TIMESTAMP and later ones zeros; with it (MySQL 8.0.2+, MariaDB 10.10+, read
        # live) every one gets zeros. Without facts: Atlas's assumption (MariaDB: the old rule).
        tf = state.facts_for(table)
        earlier = tf is not None and any(c.type.lower().startswith("timestamp") for c in tf.columns.values())
        explicit = state.facts.settings.get("explicit_defaults_for_timestamp") if state.facts else None
        zero = earlier or explicit == "1"
        return "timestamp", "0000-00-00 00:00:00" if zero else "CURRENT_TIMESTAMP"
    if kind in ("GEOMETRY", "POINT", "LINESTRING", "POLYGON"):
        return (kind.lower(), '""') if maria else None
    return ()


def _alter_column(a: exp.AlterColumn, table: str, existing: bool, s: _Stmt, stmts: list[_Stmt],
                  state: _State, emit: _Emit) -> None:
    """``ALTER [COLUMN] c SET NOT NULL`` / ``TYPE t`` (PostgreSQL, MySQL's ALTER COLUMN)."""
    if not existing:
        return
    col = a.this.name
    cf = state.column(table, col)
    if a.args.get("allow_null") is False and (state.key(table), col.lower()) not in state.added:
        if (cf is None or cf.nullable) and not _filled_before(s, stmts, state, table, col):
            emit("MF104", f"Modifying nullable column {_q(col)} to non-nullable might fail in case "
                          "it contains NULL values", table)
        state.set_column(table, col, nullable=False)
    dtype = a.args.get("dtype")
    if dtype is not None and cf is not None:
        from .types import narrows

        new = _type_text(dtype, state.dialect)
        if narrows(state.dialect, cf.type, new):
            emit("PM101", f"Changing column {_q(col)} of table {_q(table)} from {cf.type} to {new} "
                          "narrows it: values that do not fit make the statement fail (or are cut)",
                 table)
        state.set_column(table, col, type_=new)


def _mysql_modify(m: exp.ModifyColumn, table: str, existing: bool, s: _Stmt, stmts: list[_Stmt],
                  state: _State, emit: _Emit) -> None:
    """MySQL ``MODIFY c def`` / ``CHANGE old new def``."""
    if not existing:
        return
    col = m.this
    old_name = m.args["rename_from"].name if m.args.get("rename_from") else col.name
    if old_name.lower() != col.name.lower():
        emit("BC102", f"Renaming column {_q(old_name)} to {_q(col.name)}", table)
    cf = state.column(table, old_name)
    dtype = col.args.get("kind")
    new = _type_text(dtype, "mysql")
    if (_is_not_null(col) and cf is not None and cf.nullable
            and not _filled_before(s, stmts, state, table, old_name)):
        emit("MF104", f"Modifying nullable column {_q(col.name)} to non-nullable might fail in case "
                      "it contains NULL values", table)
    from .types import mysql_change

    verdict = mysql_change(cf.type if cf is not None else None, new)
    if cf is None:
        if verdict == "unknown":
            emit("PM301", f"Changing column {_q(old_name)} to {new} copies table {_q(table)} while "
                          "writes wait, unless the type is unchanged or ENUM values are only "
                          "appended (the live column type tells)", table)
        return
    state.columns[(state.key(table), col.name.lower())] = ColumnFacts(col.name, new, not _is_not_null(col))
    if verdict == "narrow":
        emit("PM101", f"Changing column {_q(old_name)} of table {_q(table)} from {cf.type} to {new} "
                      "narrows it: values that do not fit make the statement fail (or are cut)", table)
    if verdict == "enum":
        emit("PM302", f"Changing the values of {_q(old_name)} from {cf.type} to {new} other than by "
                      f"appending copies table {_q(table)} (and reinterprets stored values)", table)
    elif verdict in ("copy", "narrow"):
        emit("PM301", f"Changing the type of column {_q(old_name)} ({cf.type} to {new}) copies "
                      f"table {_q(table)} while writes wait", table)


def _mysql_command(s: _Stmt, stmts: list[_Stmt], state: _State, emit: _Emit) -> None:
    """Statements sqlglot keeps as a Command; read from its tokens: ``RENAME TABLE a TO b, …``."""
    if s.tree is None or s.tree.name.upper() != "RENAME":
        return
    for old, new in _rename_pairs(s.tree):
        _rename_table(old, new, stmts[s.index + 1:], state, emit)


def _rename_pairs(t: exp.Expression) -> list[tuple[str, str]]:
    """The (old, new) names of a MySQL ``RENAME TABLE a TO b, …`` Command; [] when it is not
    one or does not read as one."""
    if t.expression is None:
        return []
    try:  # sqlglot keeps what follows RENAME as one string: tokenize that
        tokens = sqlglot.tokenize(t.expression.name, read="mysql")
    except Exception:
        return []
    words = [tk for tk in tokens if tk.token_type != TokenType.SEMICOLON]
    if len(words) < 4 or words[0].text.upper() != "TABLE":
        return []
    pairs = []
    i = 1
    while i + 2 < len(words):
        j = i
        old = []
        while j < len(words) and words[j].text.upper() != "TO":
            if words[j].token_type != TokenType.DOT:
                old.append(words[j].text)
            j += 1
        new = []
        j += 1
        while j < len(words) and words[j].token_type != TokenType.COMMA:
            if words[j].token_type != TokenType.DOT:
                new.append(words[j].text)
            j += 1
        if not old or not new:
            return []
        pairs.append((".".join(old), ".".join(new)))
        i = j + 1
    return pairs


# --- SQLite: the table rebuild ---------------------------------------------------------------


def _sqlite_rebuild(s: _Stmt, stmts: list[_Stmt], state: _State, emit: _Emit) -> bool:
    """``CREATE TABLE tmp …; INSERT INTO tmp … SELECT … FROM t; DROP TABLE t; ALTER TABLE tmp
    RENAME TO t`` (Atlas's generated form uses ``new_t``): one PM401 on the CREATE, plus DS103
    for columns of ``t`` the new table lacks (known from live facts); the DROP and RENAME are
    part of the rebuild, not a dropped table and a renamed one."""
    t = s.tree
    if not (isinstance(t, exp.Create) and str(t.args.get("kind", "")).upper() == "TABLE"
            and isinstance(t.this, exp.Schema)):
        return False
    tmp = _name(t.this.this)
    seq = [x for x in stmts[s.index + 1:s.index + 8] if x.tree is not None]
    ins = next((x for x in seq if isinstance(x.tree, exp.Insert)), None)
    if ins is None or not isinstance(ins.tree, exp.Insert):
        return False
    into = ins.tree.this
    if state.key(_name(into.this if isinstance(into, exp.Schema) else into)) != state.key(tmp):
        return False
    select = ins.tree.expression
    src = select.find(exp.Table) if select is not None else None
    if src is None:
        return False
    orig = _name(src)
    drop = next((x for x in seq if isinstance(x.tree, exp.Drop) and x.index > ins.index
                 and any(state.key(_name(tb)) == state.key(orig) for tb in x.tree.args.get("tables") or [])), None)
    if drop is None or not state.existing(orig):
        return False
    ren = next((x for x in seq if x.index > drop.index and isinstance(x.tree, exp.Alter)
                and state.key(_name(x.tree.this)) == state.key(tmp)
                and any(isinstance(a, exp.AlterRename) and state.key(_name(a.this)) == state.key(orig)
                        for a in x.tree.args.get("actions") or [])), None)
    if ren is None:
        return False
    emit("PM401", f"Rebuilding table {_q(orig)}: every row is copied into {_q(tmp)}, which "
                  f"replaces it", orig)
    tf = state.facts_for(orig)
    if tf is not None and tf.columns:
        new_cols = {c.name.lower() for c in t.this.expressions if isinstance(c, exp.ColumnDef)}
        gone = [c.name for k, c in tf.columns.items() if k not in new_cols and not c.virtual]
        if gone:
            word = "column" if len(gone) == 1 else "columns"
            emit("DS103", f"Dropping non-virtual {word} {_and(gone)}", orig)
        for c in t.this.expressions:
            old = tf.columns.get(c.name.lower()) if isinstance(c, exp.ColumnDef) else None
            if (old is not None and old.nullable and _is_not_null(c) and not _has_default(c)
                    and not _filled_before(s, stmts, state, orig, c.name)):
                emit("MF104", f"Modifying nullable column {_q(c.name)} to non-nullable might fail "
                              "in case it contains NULL values", orig)
    for x in (ins, drop, ren):
        state.skip.add((x.file.name, x.index))
    return True
