"""Generate the data benchmark's input: one INSERT-heavy migration file (seed data, backfills).

``data_sql(size, rows_per_insert)`` returns SQL that runs unchanged on SQLite, PostgreSQL and
MariaDB: one ``CREATE TABLE`` then multi-row ``INSERT``s (``rows_per_insert`` rows each) until the
text reaches about ``size`` bytes. The string values are what makes splitting hard: doubled
quotes (``''``), double quotes, ``;`` and ``--`` and ``/*`` inside strings, parentheses inside
strings, non-ASCII text, and backslashes (literal on SQLite and PostgreSQL, an escape on MariaDB:
only ``\\\\`` pairs are written, so every database stores a valid string). Deterministic
(seeded), so every run and every tool gets the same bytes.
"""

from __future__ import annotations

import random

__all__ = ["TABLE", "data_sql", "row_count"]

TABLE = "seed_items"

_WORDS = (
    "alpha", "beta", "gamma", "delta", "O''Brien", "it''s", "say \"hi\"", "a;b", "x -- y",
    "/* not a comment */", "(paren)", "semi;colon;s", "naïve", "café", "Zürich", "日本",
    "back\\\\slash", "--", ";", "''", "100%", "tab\there", "end", "begin", "$1", "#hash",
)


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(words))


def data_sql(size: int = 10_000_000, rows_per_insert: int = 50, seed: int = 13) -> str:
    """Return the migration text (about ``size`` bytes; see the module docstring)."""
    rng = random.Random(seed)
    parts = [
        f"-- Seed data for {TABLE}: quotes, ';' and '--' inside strings.\n",
        f"CREATE TABLE {TABLE} (id integer PRIMARY KEY, name varchar(200) NOT NULL, "
        "note text, qty integer NOT NULL, price decimal(10,2));\n",
    ]
    total = sum(len(p) for p in parts)
    row_id = 0
    while total < size:
        rows = []
        for _ in range(rows_per_insert):
            row_id += 1
            note = "NULL" if rng.random() < 0.1 else f"'{_text(rng, rng.randint(3, 12))}'"
            rows.append(f"({row_id}, '{_text(rng, 2)}', {note}, {rng.randint(0, 999)}, "
                        f"{rng.randint(0, 99999) / 100:.2f})")
        stmt = f"INSERT INTO {TABLE} (id, name, note, qty, price) VALUES\n  " + ",\n  ".join(rows) + ";\n"
        if rng.random() < 0.05:
            stmt = f"-- batch ending at {row_id}; note the ';' -- inside strings\n" + stmt
        parts.append(stmt)
        total += len(stmt)
    return "".join(parts)


def row_count(text: str) -> int:
    """The number of rows ``text`` (from ``data_sql``) inserts: its highest id."""
    tail = text.rsplit("\n  (", 1)[1]
    return int(tail.split(",", 1)[0])
