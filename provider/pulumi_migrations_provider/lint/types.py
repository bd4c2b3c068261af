"""Comparing a column's current type (from live facts) with the type a statement gives it.

Types are parsed with sqlglot's ``DataType.build`` (the catalog's spelling, e.g.
PostgreSQL's ``character varying(255)`` or MariaDB's ``int(11) unsigned``, and the statement's
alike), never compared as strings. Only the families below are ranked; any other change is
"different" (not known to narrow).

- ``narrows(dialect, old, new)``: the new type cannot hold every old value (a smaller integer,
  a shorter string, less numeric precision or scale, a sign change, double to float).
- ``pg_coercible(old, new)``: PostgreSQL changes it without a rewrite (binary-coercible:
  varchar to a longer or unbounded varchar or text, numeric to more precision, same scale).
- ``mysql_change(old, new)``: what MySQL/MariaDB does with ``MODIFY``: "unknown" (no old
  type), "same", "append" (ENUM/SET values only appended: instant), "enum" (values
  reordered or removed: table copy), "narrow", "inplace" (a longer VARCHAR with the same
  length bytes, utf8mb4 assumed) or "copy".
"""

from __future__ import annotations

from sqlglot import exp

__all__ = ["narrows", "pg_coercible", "mysql_change"]

_T = exp.DataType.Type
_INT_RANK = {_T.TINYINT: 1, _T.UTINYINT: 1, _T.SMALLINT: 2, _T.USMALLINT: 2, _T.MEDIUMINT: 3,
             _T.UMEDIUMINT: 3, _T.INT: 4, _T.UINT: 4, _T.BIGINT: 8, _T.UBIGINT: 8,
             _T.SERIAL: 4, _T.BIGSERIAL: 8, _T.SMALLSERIAL: 2}
_UNSIGNED = {_T.UTINYINT, _T.USMALLINT, _T.UMEDIUMINT, _T.UINT, _T.UBIGINT}
_STRINGS = {_T.CHAR: None, _T.NCHAR: None, _T.VARCHAR: None, _T.NVARCHAR: None,
            _T.TEXT: float("inf"), _T.TINYTEXT: 255, _T.MEDIUMTEXT: 16_777_215,
            _T.LONGTEXT: 4_294_967_295}
_FLOAT_RANK = {_T.FLOAT: 4, _T.DOUBLE: 8}
_DECIMALS = {_T.DECIMAL, _T.UDECIMAL, _T.BIGDECIMAL}
_DIALECT = {"postgres": "postgres", "postgresql": "postgres", "mysql": "mysql", "sqlite": "sqlite"}


def _build(text: str, dialect: str) -> exp.DataType | None:
    try:
        return exp.DataType.build(text, dialect=_DIALECT.get(dialect, dialect))
    except Exception:
        return None


def _params(t: exp.DataType) -> list[int]:
    out = []
    for e in t.expressions:
        node = e.this if isinstance(e, exp.DataTypeParam) else e
        try:
            out.append(int(node.name))
        except (TypeError, ValueError):
            return []
    return out


def _length(t: exp.DataType, dialect: str) -> float:
    fixed = _STRINGS[t.this]
    if fixed is not None:
        return fixed
    p = _params(t)
    if p:
        return p[0]
    if t.this in (_T.CHAR, _T.NCHAR):
        return 1
    return float("inf")  # PostgreSQL varchar without a limit


def _narrows(old: exp.DataType, new: exp.DataType, dialect: str) -> bool:
    if old.this in _INT_RANK and new.this in _INT_RANK:
        return (_INT_RANK[new.this] < _INT_RANK[old.this]
                or (old.this in _UNSIGNED) != (new.this in _UNSIGNED))
    if old.this in _STRINGS and new.this in _STRINGS:
        return _length(new, dialect) < _length(old, dialect)
    if old.this in _DECIMALS and new.this in _DECIMALS:
        po, pn = _params(old), _params(new)
        if not pn:
            return False
        if not po:
            return True  # unconstrained numeric to a bounded one
        so, sn = (po[1] if len(po) > 1 else 0), (pn[1] if len(pn) > 1 else 0)
        return sn < so or (pn[0] - sn) < (po[0] - so)
    if old.this in _FLOAT_RANK and new.this in _FLOAT_RANK:
        return _FLOAT_RANK[new.this] < _FLOAT_RANK[old.this]
    if old.this in _INT_RANK and new.this == _T.FLOAT:  # a 24-bit mantissa
        return _INT_RANK[old.this] >= 4
    return False


def narrows(dialect: str, old: str, new: str) -> bool:
    o, n = _build(old, dialect), _build(new, dialect)
    return o is not None and n is not None and _narrows(o, n, dialect)


def pg_coercible(old: str, new: str) -> bool:
    o, n = _build(old, "postgres"), _build(new, "postgres")
    if o is None or n is None:
        return False
    if o == n:
        return True
    if o.this in (_T.VARCHAR, _T.TEXT) and n.this in (_T.VARCHAR, _T.TEXT):
        return _length(n, "postgres") >= _length(o, "postgres")
    if o.this in _DECIMALS and n.this in _DECIMALS:
        po, pn = _params(o), _params(n)
        if not pn:
            return True
        return bool(po) and (pn[1] if len(pn) > 1 else 0) == (po[1] if len(po) > 1 else 0) and pn[0] >= po[0]
    return False


def _enum_values(t: exp.DataType) -> list[str]:
    return [e.name for e in t.expressions]


def mysql_change(old: str | None, new: str) -> str:
    if old is None:
        return "unknown"
    o, n = _build(_strip_width(old), "mysql"), _build(new, "mysql")
    if o is None or n is None:
        return "unknown"
    if o.this in (_T.ENUM, _T.SET) and n.this == o.this:
        ov, nv = _enum_values(o), _enum_values(n)
        if nv == ov:
            return "same"
        return "append" if nv[:len(ov)] == ov else "enum"
    if o == n:
        return "same"
    if _narrows(o, n, "mysql"):
        return "narrow"
    if o.this == n.this == _T.VARCHAR:
        lo, ln = _length(o, "mysql") * 4, _length(n, "mysql") * 4  # utf8mb4: 4 bytes a character
        if (lo < 256) == (ln < 256):
            return "inplace"
    return "copy"


def _strip_width(column_type: str) -> str:
    """``int(11) unsigned`` -> ``int unsigned``: the display width is not part of the type."""
    base, sep, rest = column_type.partition("(")
    if sep and base.strip().lower() in ("tinyint", "smallint", "mediumint", "int", "integer", "bigint"):
        _, _, after = rest.partition(")")
        return (base + after).strip()
    return column_type
