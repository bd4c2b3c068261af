"""Generate the benchmark's migration directories: one content, four layouts.

Every file ``i`` holds three statements (CREATE TABLE, a 2-row INSERT, CREATE INDEX) that run
unchanged on SQLite and PostgreSQL. ``generate(root, n)`` writes, under ``root``:

- ``atlas/``            ``<version>_t<i>.sql`` files plus ``atlas.sum`` (our tool);
- ``dbmate/``           the same files with ``-- migrate:up`` / ``-- migrate:down`` markers;
- ``yoyo/``             the same plain ``.sql`` files (yoyo runs each in a transaction);
- ``floor.sql``         one script, every file wrapped in ``BEGIN; ... COMMIT;`` (for the
                        database's own client: ``sqlite3`` and ``psql``).

Returns a ``Layout`` with those paths. Existing output with the same count is reused.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Layout", "file_name", "generate", "statements"]

_BASE_VERSION = 20240101000000


@dataclass(frozen=True)
class Layout:
    """Paths of one generated benchmark input (``n`` migration files in four layouts)."""

    n: int
    root: Path
    atlas: Path
    dbmate: Path
    yoyo: Path
    floor: Path


def file_name(i: int) -> str:
    """Return the file name of migration ``i`` (1-based): ``<14-digit version>_t<i>.sql``."""
    return f"{_BASE_VERSION + i}_t{i:05d}.sql"


def statements(i: int) -> str:
    """Return the SQL of migration ``i``: three statements, one per line, ending in a newline."""
    t = f"t{i:05d}"
    return (
        f"CREATE TABLE {t} (id integer PRIMARY KEY, name varchar(64) NOT NULL);\n"
        f"INSERT INTO {t} (id, name) VALUES (1, 'alpha'), (2, 'beta');\n"
        f"CREATE INDEX {t}_name_idx ON {t} (name);\n"
    )


def generate(root: Path, n: int) -> Layout:
    """Write the four layouts of ``n`` files under ``root / f"n{n}"`` and return their paths.

    Reuses a complete earlier output (marker file ``.complete``); otherwise rewrites it.
    """
    base = Path(root) / f"n{n}"
    layout = Layout(n=n, root=base, atlas=base / "atlas", dbmate=base / "dbmate",
                    yoyo=base / "yoyo", floor=base / "floor.sql")
    marker = base / ".complete"
    if marker.is_file():
        return layout
    if base.exists():
        shutil.rmtree(base)
    for d in (layout.atlas, layout.dbmate, layout.yoyo):
        d.mkdir(parents=True)
    floor_parts: list[str] = []
    for i in range(1, n + 1):
        name, sql = file_name(i), statements(i)
        (layout.atlas / name).write_text(sql)
        (layout.yoyo / name).write_text(sql)
        (layout.dbmate / name).write_text(f"-- migrate:up\n{sql}\n-- migrate:down\n")
        floor_parts.append(f"BEGIN;\n{sql}COMMIT;\n")
    layout.floor.write_text("".join(floor_parts))

    from pulumi_migrations_provider.migdir import MigrationDir

    MigrationDir.load(layout.atlas).write_sum()
    marker.write_text(f"{n}\n")
    return layout
