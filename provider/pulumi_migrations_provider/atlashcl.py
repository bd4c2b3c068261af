"""Atlas project files (``atlas.hcl``): the ``env`` blocks a migrate command runs against.

Usage::

    from pulumi_migrations_provider import atlashcl

    project = atlashcl.load("atlas.hcl", variables={"tenants": ["a", "b"]})
    for env in project.envs("prod"):           # one EnvTarget per for_each instance
        print(env.name, env.key, env.url, env.dir, env.options)

Contract:

- Parsing is python-hcl2's; it gives each expression back as text, which this module evaluates
  itself. Supported: strings with ``${...}`` interpolation and heredocs, numbers, booleans,
  ``null``, lists, objects, ``var.NAME``, ``local.NAME``, ``each.key``/``each.value`` (and
  their attributes and indexes), ``atlas.env``, ``[for ...]``/``{for ...}`` expressions with
  ``if``, the conditional ``c ? a : b``, ``==``/``!=``, and the functions ``getenv``,
  ``toset``, ``tolist``, ``tostring``, ``tonumber``, ``lower``, ``upper``, ``replace``
  (plain text, not Terraform's ``/regex/`` form), ``format``,
  ``concat``, ``urlsetpath``, ``urlescape``, ``urlqueryset``, ``jsonencode``.
- Blocks read: ``variable`` (``type``, ``default``), ``locals``, ``env`` (labeled, or
  unlabeled with ``name = atlas.env``) with ``for_each``, ``url``, ``dev`` and ``src``
  (accepted, unused: migrate commands of ours need neither), ``migration { dir, baseline,
  exec_order, revisions_schema, lock_timeout, tx_mode, format = atlas }`` and ``format { migrate { apply,
  status } }``. ``lint``, ``diff``, ``atlas`` and ``data`` blocks are not evaluated (Atlas too
  evaluates a data source only when it is referenced; a reference to one is an error).
- ``for_each`` instances come in Atlas's order: a set's values and a map's keys sorted.
- Only what the selected env uses is evaluated, lazily; anything unsupported there is one
  ``ConfigError`` line naming the file, the block and the attribute. Relative ``file://``
  directories stay relative (to the current directory, as Atlas reads them).
- Nothing here imports the engine's database code; ``hcl2`` loads only in ``load``/``loads``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping

from .errors import ConfigError

EXEC_ORDER_NAMES = {"LINEAR": "linear", "LINEAR_SKIP": "linear-skip", "NON_LINEAR": "non-linear"}
MIGRATION_KEYS = ("dir", "baseline", "exec_order", "revisions_schema", "lock_timeout", "tx_mode")
_ENV_IGNORED = ("dev", "src", "schemas", "exclude", "lint", "diff", "name", "for_each")
_TOP_IGNORED = ("lint", "diff", "atlas", "data", "env", "variable", "locals")


@dataclass(slots=True)
class EnvTarget:
    """One instance of an ``env`` block: its name, the ``for_each`` key (None without one), and
    the values it sets (None where unset): ``url``, ``dir``, ``options`` (a dict of
    ``baseline``, ``exec_order``, ``revisions_schema``, ``lock_timeout`` seconds, ``tx_mode``)
    and ``formats`` (``{"apply": ..., "status": ...}`` from ``format { migrate { ... } }``)."""

    name: str
    key: str | None
    url: str | None
    dir: str | None
    options: dict[str, Any]
    formats: dict[str, str]

# --- loading ------------------------------------------------------------------------------


def _about_var(err: ConfigError, name: str, hint: str) -> ConfigError:
    """An error about the project-file variable ``name`` (the ``vars`` input, ``--var``):
    each edge words the remedy (``hint``) with the name."""
    err.name = name
    return err.about("vars", hint)


def config_path(value: str) -> str:
    """``file://atlas.hcl`` or ``atlas.hcl`` to a path. Raises ConfigError for other schemes."""
    if "://" in value:
        scheme, _, rest = value.partition("://")
        if scheme != "file":
            raise ConfigError(f"reading project file {value}: only file:// project files are "
                              "supported").about("config", "config_scheme")
        return rest
    return value


def load(path: str, variables: Mapping[str, Any] | None = None) -> "Project":
    """Read and parse the project file at ``path``. Raises ConfigError (missing file, HCL
    syntax) naming the file."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError:
        raise ConfigError(f"reading project file {path}: no such file").about(
            "config", "config_missing") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"reading project file {path}: {err}; check the file") from None
    return loads(text, variables, where=path)


def loads(text: str, variables: Mapping[str, Any] | None = None, *,
          where: str = "atlas.hcl") -> "Project":
    """Parse project-file ``text`` (``where`` names it in errors)."""
    import hcl2

    try:
        doc = hcl2.loads(text)
    except Exception as err:  # lark's errors have no common base worth naming here
        # Only the position: the parser's text quotes the offending token, which may be a
        # URL with its password (an unterminated heredoc swallows the rest of the file).
        line, col = getattr(err, "line", None), getattr(err, "column", None)
        at = f" at line {line}, column {col}" if isinstance(line, int) and line > 0 else ""
        raise ConfigError(f"reading project file {where}: not valid HCL{at}; fix the "
                          "syntax there") from None
    return Project(doc, dict(variables or {}), where)


def parse_var(text: str) -> list[tuple[str, str]]:
    """The ``KEY=VALUE`` pairs of one ``--var`` flag. As Atlas's ``Vars.Set``, the text is one
    CSV record, so ``--var a=1,b=2`` sets two (quote a pair holding a comma:
    ``--var '"url=a,b"'``). Raises ValueError."""
    import csv

    try:
        fields = next(csv.reader([text]), [])
    except csv.Error as err:
        raise ValueError(f"{text!r} is not KEY=VALUE ({err})") from None
    pairs = []
    for field in fields or [text]:
        key, sep, value = field.partition("=")
        if not sep or not key:
            raise ValueError(f"{field!r} is not KEY=VALUE")
        pairs.append((key, value))
    return pairs


def collect_vars(pairs: list[tuple[str, str]] | list[list[tuple[str, str]]] | None) -> dict[str, Any]:
    """``--var`` pairs to values (a list per flag is flattened): a key given twice or more
    becomes a list, Atlas's way of passing ``list(string)`` variables (``--var tenants=a
    --var tenants=b``)."""
    flat: list[tuple[str, str]] = []
    for item in pairs or []:
        flat.extend(item if isinstance(item, list) else [item])  # type: ignore[arg-type]
    out: dict[str, Any] = {}
    for key, value in flat:
        if key in out:
            prev = out[key]
            out[key] = (prev if isinstance(prev, list) else [prev]) + [value]
        else:
            out[key] = value
    return out


# --- the project --------------------------------------------------------------------------


class Project:
    """A parsed project file: variables and locals evaluated on demand, env blocks selected
    by name."""

    def __init__(self, doc: dict[str, Any], variables: dict[str, Any], where: str) -> None:
        self.where = where
        self._given = variables
        self._var_blocks: dict[str, dict[str, Any]] = {}
        for block in doc.get("variable", []):
            for label, body in _labeled(block):
                self._var_blocks[label] = body
        self._local_exprs: dict[str, Any] = {}
        for block in doc.get("locals", []):
            self._local_exprs.update(_attributes(block))
        self._env_blocks: list[tuple[str | None, dict[str, Any]]] = []
        for block in doc.get("env", []):
            if "__is_block__" in block:
                self._env_blocks.append((None, block))   # env { name = atlas.env ... }
            else:
                for label, body in _labeled(block):
                    self._env_blocks.append((label, body))
        for key in doc:
            if key not in _TOP_IGNORED and not _meta(key):
                raise ConfigError(f"reading project file {where}: top-level block or attribute "
                                  f"{key!r} is not supported; remove it (we read variable, "
                                  "locals and env)")
        self._vars: dict[str, Any] = {}
        self._locals: dict[str, Any] = {}
        self._evaluating: set[str] = set()
        unknown = sorted(set(variables) - set(self._var_blocks))
        if unknown:
            raise _about_var(ConfigError(
                f"reading project file {where}: variable {unknown[0]!r} is given but no variable "
                f"block declares it; declare variable \"{unknown[0]}\""), unknown[0], "var_unknown")

    def env_names(self) -> list[str]:
        """The labels of the labeled env blocks, in file order."""
        return [label for label, _ in self._env_blocks if label is not None]

    def envs(self, name: str) -> list[EnvTarget]:
        """Every instance of the env blocks named ``name`` (``for_each`` expanded). Raises
        ConfigError when none matches, or for anything unsupported in the matching blocks."""
        out: list[EnvTarget] = []
        matched = False
        for label, body in self._env_blocks:
            if label is None:
                block = "env (unlabeled)"
                ctx = _Context(self, block, name, None)
                if "name" not in body:
                    raise ConfigError(f"reading project file {self.where}: {block} has no name; "
                                      "set name = atlas.env or give the block a label")
                if ctx.eval(body["name"], "name") != name:
                    continue
            elif label != name:
                continue
            else:
                block = f'env "{label}"'
            matched = True
            out.extend(self._instances(body, block, name))
        if not matched:
            names = ", ".join(self.env_names()) or "none"
            raise ConfigError(f"reading project file {self.where}: no env block named {name!r} "
                              f"(envs: {names})").about("env", "env_name")
        return out

    def _instances(self, body: dict[str, Any], block: str, name: str) -> Iterator[EnvTarget]:
        for key, attr in body.items():
            if _meta(key) or key in _ENV_IGNORED or key in ("url", "migration", "format"):
                continue
            raise ConfigError(f"reading project file {self.where}: {block} attribute {key!r} is "
                              "not supported; remove it (we read url, migration and format)")
        if "for_each" not in body:
            yield self._instance(body, _Context(self, block, name, None))
            return
        items = _Context(self, block, name, None).eval(body["for_each"], "for_each")
        if isinstance(items, dict):  # cty iterates a map in key order, and so does Atlas
            pairs = sorted(items.items())
        elif isinstance(items, list):
            pairs = [(v, v) for v in items]
            if not all(isinstance(v, str) for v in items):
                raise ConfigError(f"reading project file {self.where}: {block} for_each: a list "
                                  "must hold strings; use toset([...]) of strings or a map")
        else:
            raise ConfigError(f"reading project file {self.where}: {block} for_each: expected a "
                              "set of strings or a map; use toset([...]) or { key = value }")
        for k, v in pairs:
            yield self._instance(body, _Context(self, block, name, (str(k), v)))

    def _instance(self, body: dict[str, Any], ctx: _Context) -> EnvTarget:
        url = ctx.string(body["url"], "url") if "url" in body else None
        options: dict[str, Any] = {}
        directory = None
        for mig in body.get("migration", []):
            for key, expr in _attributes(mig).items():
                attr = f"migration.{key}"
                if key == "format":  # Atlas's default directory format is ours; no other is
                    _dir_format(ctx, expr, attr)
                    continue
                if key not in MIGRATION_KEYS:
                    raise ConfigError(f"reading project file {self.where}: {ctx.block} attribute "
                                      f"{attr} is not supported; remove it (we read "
                                      + ", ".join(MIGRATION_KEYS) + ")")
                if key == "dir":
                    directory = ctx.string(expr, attr)
                elif key == "exec_order":
                    options[key] = _exec_order(ctx, expr, attr)
                elif key == "lock_timeout":
                    options[key] = _duration(ctx, expr, attr)
                else:
                    options[key] = ctx.string(expr, attr)
                    if key == "tx_mode" and options[key] not in ("file", "all", "none"):
                        raise ConfigError(f"reading project file {self.where}: {ctx.block} "
                                          f"attribute {attr}: unknown tx mode {options[key]!r}; "
                                          "use file, all or none")
        formats: dict[str, str] = {}
        for fmt in body.get("format", []):
            for key, value in _attributes(fmt).items():
                if key != "migrate":
                    raise ConfigError(f"reading project file {self.where}: {ctx.block} block "
                                      f"format.{key} is not supported; remove it (we read "
                                      "format.migrate.apply and .status)")
                for migrate in value:
                    for cmd, expr in _attributes(migrate).items():
                        formats[cmd] = ctx.string(expr, f"format.migrate.{cmd}")
        each_key = ctx.each[0] if ctx.each is not None else None
        return EnvTarget(ctx.env_name, each_key, url, directory, options, formats)

    # --- variables and locals ---------------------------------------------------------------

    def variable(self, name: str, block: str, attr: str) -> Any:
        if name in self._vars:
            return self._vars[name]
        body = self._var_blocks.get(name)
        if body is None:
            raise ConfigError(f"reading project file {self.where}: {block} {attr}: var.{name} "
                              f"is not declared; add a variable \"{name}\" block")
        type_text = _strip(body.get("type", "any")) if "type" in body else "any"
        if name in self._given:
            value = _convert(self._given[name], type_text, name, self.where)
        elif "default" in body:
            value = _Context(self, f'variable "{name}"', None, None).eval(body["default"], "default")
            value = _convert(value, type_text, name, self.where, given=False)
        else:
            raise _about_var(ConfigError(f"reading project file {self.where}: variable {name!r} "
                                         "has no value and no default"), name, "var_value")
        self._vars[name] = value
        return value

    def local(self, name: str, block: str, attr: str) -> Any:
        if name in self._locals:
            return self._locals[name]
        if name not in self._local_exprs:
            raise ConfigError(f"reading project file {self.where}: {block} {attr}: local.{name} "
                              "is not defined; add it to a locals block")
        if name in self._evaluating:
            raise ConfigError(f"reading project file {self.where}: locals {name}: it refers to "
                              "itself; break the cycle")
        self._evaluating.add(name)
        try:
            value = _Context(self, "locals", None, None).eval(self._local_exprs[name], name)
        finally:
            self._evaluating.discard(name)
        self._locals[name] = value
        return value


def _meta(key: str) -> bool:
    """python-hcl2's own keys (``__is_block__``, ``__comments__``, ...), not the file's."""
    return key.startswith("__") and key.endswith("__")


def _labeled(block: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for key, body in block.items():
        if not _meta(key) and isinstance(body, dict):
            yield _unquote_key(key), body


def _attributes(block: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in block.items() if not _meta(k)}


def _unquote_key(key: str) -> str:
    return key[1:-1] if len(key) >= 2 and key[0] == key[-1] == '"' else key


def _strip(raw: Any) -> str:
    text = str(raw)
    return text[2:-1] if text.startswith("${") and text.endswith("}") else text


def _exec_order(ctx: _Context, expr: Any, attr: str) -> str:
    raw = _strip(expr).strip()
    if raw in EXEC_ORDER_NAMES:  # Atlas's enum form: exec_order = LINEAR_SKIP
        return EXEC_ORDER_NAMES[raw]
    value = ctx.string(expr, attr)
    name = value.upper().replace("-", "_")
    if name not in EXEC_ORDER_NAMES:
        raise ConfigError(f"reading project file {ctx.project.where}: {ctx.block} {attr}: "
                          f"unknown exec order {value!r}; use LINEAR, LINEAR_SKIP or NON_LINEAR")
    return EXEC_ORDER_NAMES[name]


def _dir_format(ctx: _Context, expr: Any, attr: str) -> None:
    """``format = atlas`` (Atlas's default, as an identifier or a string) is accepted; the other
    formats Atlas reads (golang-migrate, goose, flyway, liquibase, dbmate) are refused."""
    raw = _strip(expr).strip()
    value = raw if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", raw) else ctx.string(expr, attr)
    if value != "atlas":
        raise ConfigError(f"reading project file {ctx.project.where}: {ctx.block} {attr}: "
                          f"directory format {value!r} is not supported, only Atlas's (atlas); "
                          "convert the directory with 'atlas migrate import'")


def _duration(ctx: _Context, expr: Any, attr: str) -> float:
    from .durations import parse_duration

    value = ctx.eval(expr, attr)
    try:
        return parse_duration(str(value))
    except ValueError:
        raise ConfigError(f"reading project file {ctx.project.where}: {ctx.block} {attr}: "
                          f"{value!r} is not a duration; write it like \"10s\" or \"500ms\"") from None


_SIMPLE_TYPES = ("string", "number", "bool", "any")
_COLLECTION_TYPE = re.compile(r"^(list|set|map)\((string|number|bool|any)\)$")


def _convert(value: Any, type_text: str, name: str, where: str, *, given: bool = True) -> Any:
    """Convert a ``--var`` string (or list of strings) or a default to the variable's type."""
    t = type_text.replace(" ", "")
    m = _COLLECTION_TYPE.match(t)

    def fail(why: str) -> ConfigError:
        text = f"reading project file {where}: variable {name!r} ({type_text}): {why}"
        if not given:
            return ConfigError(text + "; fix its default")
        return _about_var(ConfigError(text), name, "var_value")

    def scalar(v: Any, kind: str) -> Any:
        if kind in ("any", "string"):
            if kind == "string" and isinstance(v, (list, dict)):
                raise fail("expected one string, got several values")
            return v if kind == "any" or isinstance(v, str) or v is None else _to_string(v)
        if kind == "number":
            try:
                return v if isinstance(v, (int, float)) and not isinstance(v, bool) else _number(str(v))
            except ValueError:
                raise fail(f"{v!r} is not a number") from None
        if isinstance(v, bool):
            return v
        if str(v) in ("true", "false"):
            return str(v) == "true"
        raise fail(f"{v!r} is not true or false")

    if t in _SIMPLE_TYPES:
        return scalar(value, t)
    if m is None:
        raise ConfigError(f"reading project file {where}: variable {name!r}: type {type_text} is "
                          "not supported; use string, number, bool, list(...), set(...) or map(...)")
    kind, elem = m.groups()
    if kind == "map":
        if not isinstance(value, dict):
            raise fail("expected a map (give it as a default: a variable given as text cannot be one)")
        return {k: scalar(v, elem) for k, v in value.items()}
    items = value if isinstance(value, list) else [value]
    out = [scalar(v, elem) for v in items]
    return sorted(set(out), key=_set_order) if kind == "set" else out


def _number(text: str) -> int | float:
    f = float(text)
    return int(f) if f.is_integer() and "." not in text and "e" not in text.lower() else f


def _to_string(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _set_order(v: Any) -> tuple[int, Any]:
    return (0, v) if isinstance(v, str) else (1, str(v))


# --- expressions ----------------------------------------------------------------------------


class _Unsupported(Exception):
    """Raised inside the evaluator; ``_Context.eval`` turns it into a ConfigError."""


class _Context:
    """Evaluates expressions of one block (and one for_each instance)."""

    def __init__(self, project: Project, block: str, env_name: str | None,
                 each: tuple[str, Any] | None) -> None:
        self.project = project
        self.block = block
        self.env_name = env_name or ""
        self.each = each
        self.attr = ""

    def string(self, expr: Any, attr: str) -> str:
        value = self.eval(expr, attr)
        if isinstance(value, (list, dict)) or value is None:
            raise ConfigError(f"reading project file {self.project.where}: {self.block} {attr}: "
                              "expected a string; give one string")
        return _to_string(value)

    def eval(self, expr: Any, attr: str) -> Any:
        """Evaluate what python-hcl2 gave for ``attr`` (text or a list/dict of such)."""
        self.attr = attr
        try:
            return self._value(expr)
        except _Unsupported as err:
            raise ConfigError(f"reading project file {self.project.where}: {self.block} {attr}: "
                              f"{err}") from None

    def _value(self, expr: Any) -> Any:
        if isinstance(expr, str):
            text = expr
            if text.startswith("${") and text.endswith("}") and _single_interpolation(text):
                text = text[2:-1]
            elif text.startswith('"<<') and text.endswith('"'):
                text = text[1:-1]  # python-hcl2 quotes a heredoc as it is
            return _Parser(text, self).parse()
        if isinstance(expr, list):
            return [self._value(v) for v in expr]
        if isinstance(expr, dict):
            return {_unquote_key(k): self._value(v) for k, v in expr.items() if not _meta(k)}
        return expr

    # references ------------------------------------------------------------------------------

    def reference(self, root: str, name: str | None) -> Any:
        p = self.project
        if root == "var" and name is not None:
            return p.variable(name, self.block, self.attr)
        if root == "local" and name is not None:
            return p.local(name, self.block, self.attr)
        if root == "each":
            if self.each is None:
                raise _Unsupported("each is only defined in an env block with for_each")
            if name == "key":
                return self.each[0]
            if name == "value":
                return self.each[1]
            raise _Unsupported(f"each.{name} is not defined; use each.key or each.value")
        if root == "atlas" and name == "env":
            return self.env_name
        if root == "data":
            raise _Unsupported(f"data sources (data.{name}...) are not supported; give the value "
                               "directly, through a variable or getenv()")
        what = f"{root}.{name}" if name else root
        raise _Unsupported(f"reference {what} is not supported (we read var., local., each., "
                           "atlas.env)")


def _single_interpolation(text: str) -> bool:
    """True when ``text`` is one ``${...}`` wrapping the whole value (python-hcl2's form of a
    non-string expression), not ``${a}x${b}``."""
    depth = 0
    in_str = False
    i = 2
    while i < len(text) - 1:
        c = text[i]
        if in_str:
            if c == "\\":
                i += 1
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            if depth == 0:
                return False
            depth -= 1
        i += 1
    return depth == 0


_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<num>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<heredoc><<-?(?P<tag>[A-Za-z_][A-Za-z0-9_]*)\n)
  | (?P<str>")
  | (?P<op>==|!=|=>|&&|\|\||<=|>=|[-+*/%!<>?:.,=\[\]{}()])
  | (?P<name>[A-Za-z_][A-Za-z0-9_-]*)
""", re.VERBOSE)


class _Parser:
    """Recursive descent over one expression's text."""

    def __init__(self, text: str, ctx: _Context) -> None:
        self.text = text
        self.pos = 0
        self.ctx = ctx
        self.scopes: list[dict[str, Any]] = []   # for-expression variables

    def parse(self) -> Any:
        value = self.expr()
        self.skip_ws()
        if self.pos != len(self.text):
            raise _Unsupported(f"cannot read {self.text[self.pos:self.pos + 30]!r} in "
                               f"{self.text[:60]!r}; simplify the expression")
        return value

    # lexing -------------------------------------------------------------------------------

    def skip_ws(self) -> None:
        while self.pos < len(self.text):
            if self.text[self.pos].isspace():
                self.pos += 1
            elif self.text.startswith(("//", "#"), self.pos):
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end == -1 else end
            else:
                break

    def peek(self) -> tuple[str, str]:
        self.skip_ws()
        m = _TOKEN.match(self.text, self.pos)
        if m is None:
            return ("end", "") if self.pos >= len(self.text) else ("bad", self.text[self.pos])
        kind = m.lastgroup if m.lastgroup != "tag" else "heredoc"
        if m.group("heredoc"):
            kind = "heredoc"
        return kind or "bad", m.group(0)

    def take(self, value: str) -> bool:
        kind, tok = self.peek()
        if kind in ("op", "name") and tok == value:
            self.pos += len(tok)
            return True
        return False

    def expect(self, value: str) -> None:
        if not self.take(value):
            kind, tok = self.peek()
            raise _Unsupported(f"expected {value!r} but found {tok or 'the end'!r} in "
                               f"{self.text[:60]!r}")

    # grammar ------------------------------------------------------------------------------

    def expr(self) -> Any:
        cond = self.or_expr()
        if self.take("?"):
            a = self.expr()
            self.expect(":")
            b = self.expr()
            return a if cond else b
        return cond

    def or_expr(self) -> Any:
        value = self.and_expr()
        while self.take("||"):
            value = self.and_expr() or value
        return value

    def and_expr(self) -> Any:
        value = self.equality()
        while self.take("&&"):
            right = self.equality()
            value = bool(value) and bool(right)
        return value

    def equality(self) -> Any:
        value = self.unary()
        while True:
            if self.take("=="):
                value = value == self.unary()
            elif self.take("!="):
                value = value != self.unary()
            else:
                kind, tok = self.peek()
                if kind == "op" and tok in ("+", "-", "*", "/", "%", "<", ">", "<=", ">="):
                    raise _Unsupported(f"the operator {tok!r} is not supported; use a string "
                                       "template (\"${a}${b}\") or a literal")
                return value

    def unary(self) -> Any:
        if self.take("!"):
            return not self.unary()
        if self.take("-"):
            v = self.unary()
            if isinstance(v, (int, float)):
                return -v
            raise _Unsupported("'-' applies to numbers only")
        return self.postfix(self.primary())

    def postfix(self, value: Any) -> Any:
        while True:
            if self.take("."):
                kind, tok = self.peek()
                if kind == "name":
                    self.pos += len(tok)
                    value = self.attribute(value, tok)
                elif kind == "num":
                    self.pos += len(tok)
                    value = self.index(value, int(tok))
                else:
                    raise _Unsupported(f"expected an attribute name after '.' in {self.text[:60]!r}")
            elif self.take("["):
                key = self.expr()
                self.expect("]")
                value = self.index(value, key)
            else:
                return value

    @staticmethod
    def attribute(value: Any, name: str) -> Any:
        if isinstance(value, dict) and name in value:
            return value[name]
        raise _Unsupported(f"no attribute {name!r} in {_show(value)}")

    @staticmethod
    def index(value: Any, key: Any) -> Any:
        try:
            if isinstance(value, list) and isinstance(key, (int, float)) and not isinstance(key, bool):
                return value[int(key)]
            if isinstance(value, dict):
                return value[str(key)]
        except (IndexError, KeyError):
            pass
        raise _Unsupported(f"no element [{key!r}] in {_show(value)}")

    def primary(self) -> Any:
        kind, tok = self.peek()
        if kind == "num":
            self.pos += len(tok)
            return _number(tok)
        if kind == "str":
            self.pos += 1
            return self.template('"')
        if kind == "heredoc":
            self.pos += len(tok)
            return self.heredoc(tok)
        if kind == "op" and tok == "(":
            self.pos += 1
            value = self.expr()
            self.expect(")")
            return value
        if kind == "op" and tok == "[":
            self.pos += 1
            return self.list_or_for()
        if kind == "op" and tok == "{":
            self.pos += 1
            return self.object_or_for()
        if kind == "name":
            self.pos += len(tok)
            if tok in ("true", "false"):
                return tok == "true"
            if tok == "null":
                return None
            if self.take("("):
                return self.call(tok)
            return self.name(tok)
        raise _Unsupported(f"cannot read {tok or 'the end'!r} in {self.text[:60]!r}; simplify "
                           "the expression")

    def name(self, root: str) -> Any:
        for scope in reversed(self.scopes):
            if root in scope:
                return scope[root]
        if root in ("var", "local", "each", "atlas", "data"):
            if not self.take("."):
                raise _Unsupported(f"{root} needs an attribute ({root}.NAME)")
            kind, tok = self.peek()
            if kind != "name":
                raise _Unsupported(f"expected a name after {root}.")
            self.pos += len(tok)
            return self.ctx.reference(root, tok)
        return self.ctx.reference(root, None)

    def template(self, end: str) -> str:
        """A quoted string from after its opening quote: escapes and ``${...}``."""
        out: list[str] = []
        text = self.text
        while True:
            if self.pos >= len(text):
                raise _Unsupported("unterminated string")
            c = text[self.pos]
            if c == '"' and end == '"':
                self.pos += 1
                return "".join(out)
            if c == "\\" and end == '"':
                nxt = text[self.pos + 1:self.pos + 2]
                escapes = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
                if nxt in escapes:
                    out.append(escapes[nxt])
                    self.pos += 2
                    continue
                if nxt == "u":
                    out.append(chr(int(text[self.pos + 2:self.pos + 6], 16)))
                    self.pos += 6
                    continue
                raise _Unsupported(f"unknown escape \\{nxt} in a string")
            if text.startswith("$${", self.pos) or text.startswith("%%{", self.pos):
                out.append(text[self.pos + 1:self.pos + 3])
                self.pos += 3
                continue
            if text.startswith("%{", self.pos):
                raise _Unsupported("template directives (%{ if }, %{ for }) are not supported")
            if text.startswith("${", self.pos):
                self.pos += 2
                value = self.expr()
                self.expect("}")
                if isinstance(value, (list, dict)):
                    raise _Unsupported("cannot interpolate a list or map into a string")
                out.append("" if value is None else _to_string(value))
                continue
            out.append(c)
            self.pos += 1

    def heredoc(self, opener: str) -> str:
        tag = opener.lstrip("<-").strip()
        strip = opener.startswith("<<-")
        m = re.compile(rf"^[ \t]*{re.escape(tag)}[ \t]*$", re.M).search(self.text, self.pos)
        if m is None:
            raise _Unsupported(f"heredoc <<{tag} is not closed")
        body = self.text[self.pos:m.start()]
        after = m.end()
        lines = body.split("\n")
        if strip:
            indent = min((len(x) - len(x.lstrip()) for x in lines if x.strip()), default=0)
            lines = [x[indent:] for x in lines]
            body = "\n".join(lines)
        escaped = body.replace("\\", "\\\\").replace('"', '\\"')  # heredocs have no escapes
        sub = _Parser(escaped + '"', self.ctx)
        sub.scopes = self.scopes
        value = sub.template('"')
        self.pos = after
        return value

    def list_or_for(self) -> Any:
        if self.peek() == ("name", "for"):
            self.pos += 3
            return self.for_expr("]")
        items: list[Any] = []
        while not self.take("]"):
            items.append(self.expr())
            if not self.take(","):
                self.expect("]")
                break
        return items

    def object_or_for(self) -> Any:
        if self.peek() == ("name", "for"):
            self.pos += 3
            return self.for_expr("}")
        out: dict[str, Any] = {}
        while not self.take("}"):
            kind, tok = self.peek()
            if kind == "name":
                self.pos += len(tok)
                key: Any = tok
            else:
                key = self.expr()
            if not (self.take("=") or self.take(":")):
                raise _Unsupported(f"expected '=' after the object key {key!r}")
            out[_to_string(key)] = self.expr()
            self.take(",")
        return out

    def for_expr(self, close: str) -> Any:
        names = [self.ident()]
        if self.take(","):
            names.append(self.ident())
        self.expect("in")
        source = self.expr()
        self.expect(":")
        start = self.pos
        pairs = list(source.items()) if isinstance(source, dict) else list(enumerate(source)) \
            if isinstance(source, list) else None
        if pairs is None:
            raise _Unsupported("a for expression needs a list or a map")
        results: list[Any] = []
        end = start
        # With nothing to iterate, the body is still parsed once (nulls bound) to skip it.
        pairs_for_parse: list[tuple[Any, Any]] = list(pairs) if pairs else [(None, None)]
        for k, v in pairs_for_parse:
            self.pos = start
            scope = {names[0]: v} if len(names) == 1 else {names[0]: k, names[1]: v}
            self.scopes.append(scope)
            try:
                first = self.expr()
                second = None
                if close == "}":
                    self.expect("=>")
                    second = self.expr()
                keep = True
                if self.take("if"):
                    keep = bool(self.expr())
            finally:
                self.scopes.pop()
            end = self.pos
            if pairs and keep:
                results.append((first, second))
        self.pos = end
        self.expect(close)
        if close == "]":
            return [a for a, _ in results]
        return {_to_string(a): b for a, b in results}

    def ident(self) -> str:
        kind, tok = self.peek()
        if kind != "name":
            raise _Unsupported("expected a name in the for expression")
        self.pos += len(tok)
        return tok

    def call(self, fn: str) -> Any:
        args: list[Any] = []
        while not self.take(")"):
            args.append(self.expr())
            if not self.take(","):
                self.expect(")")
                break
        impl = _FUNCTIONS.get(fn)
        if impl is None:
            raise _Unsupported(f"function {fn}() is not supported (we have "
                               + ", ".join(sorted(_FUNCTIONS)) + ")")
        try:
            return impl(*args)
        except _Unsupported:
            raise
        except (TypeError, ValueError, IndexError) as err:
            raise _Unsupported(f"{fn}(): {err}") from None


def _show(value: Any) -> str:
    """What a value is, never the value itself (it may be a URL with a password)."""
    if isinstance(value, dict):
        return "a map with keys " + (", ".join(sorted(value)[:5]) or "none")
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return "null" if value is None else f"a {type(value).__name__.replace('str', 'string')}"


# --- functions --------------------------------------------------------------------------------


def _format(fmt: str, *args: Any) -> str:
    values = iter(args)

    def one(m: re.Match[str]) -> str:
        verb = m.group(1)
        if verb == "%":
            return "%"
        v = next(values)
        if verb == "q":
            import json
            return json.dumps(_to_string(v))
        if verb == "d":
            return str(int(v))
        if verb in ("s", "v"):
            return _to_string(v)
        raise ValueError(f"verb %{verb} is not supported (use %s, %d, %q, %v, %%)")

    return re.sub(r"%(.)", one, fmt)


def _urlsetpath(url: str, path: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + path.lstrip("/") if path else ""))


def _urlqueryset(url: str, key: str, value: str) -> str:
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != key]
    query.append((key, value))
    return urlunsplit(parts._replace(query=urlencode(query)))


def _urlescape(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


def _jsonencode(value: Any) -> str:
    import json

    return json.dumps(value, separators=(",", ":"))


def _concat(*lists: Any) -> list[Any]:
    out: list[Any] = []
    for item in lists:
        if not isinstance(item, list):
            raise ValueError("arguments must be lists")
        out.extend(item)
    return out


def _toset(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError("expected a list")
    return sorted(set(value), key=_set_order)


def _tolist(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError("expected a list or set")
    return list(value)


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "getenv": lambda name: os.environ.get(str(name), ""),
    "toset": _toset,
    "tolist": _tolist,
    "tostring": _to_string,
    "tonumber": lambda v: _number(str(v)),
    "lower": lambda s: str(s).lower(),
    "replace": lambda s, old, new: str(s).replace(str(old), str(new)),
    "upper": lambda s: str(s).upper(),
    "format": _format,
    "concat": _concat,
    "urlsetpath": _urlsetpath,
    "urlqueryset": _urlqueryset,
    "urlescape": _urlescape,
    "jsonencode": _jsonencode,
}


def env_settings(config: str, env: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The settings one env gives a single target (the Pulumi resource's ``config``/``env``/
    ``vars``): ``url``, ``dir`` (an absolute path, relative ones taken from the current
    directory as Atlas does), and the ``migration`` block's options, only those the env sets.
    Raises ConfigError, also when the env has several instances (``for_each``)."""
    from .migdir import dir_path

    envs = load(config_path(config), variables).envs(env)
    if len(envs) != 1:
        keys = ", ".join(str(e.key) for e in envs[:3]) + (", ..." if len(envs) > 3 else "")
        raise ConfigError(f"reading project file {config_path(config)}: env {env!r} has "
                          f"{len(envs)} instances (for_each: {keys}); one Migration migrates one "
                          "database: declare one per tenant (url= each tenant's URL), or "
                          "select one through vars")
    e = envs[0]
    out: dict[str, Any] = dict(e.options)
    if e.url is not None:
        out["url"] = e.url
    if e.dir is not None:
        out["dir"] = str(dir_path(e.dir).absolute())
    return out
