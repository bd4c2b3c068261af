"""The revisions table as Atlas writes it, where a difference showed against a real Atlas CLI
(community build of v1.2.3, quoted in issue 9): SQLite storage classes, MariaDB DDL, and the
MySQL driver's wording in the ``error`` column.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pulumi_migrations_provider import engine
from pulumi_migrations_provider.errors import StatementError
from pulumi_migrations_provider.reports import Options

from tests.dirtools import make_dir
from tests.helpers import dbcheck


def test_sqlite_partial_hashes_is_a_blob_like_atlas(sqlite_url: str, tmp_path: Path) -> None:
    """Atlas writes partial_hashes through ent's []byte: X'6e756c6c' for a finished file. A TEXT
    'null' is not equal to that BLOB in SQLite, so the storage class must match."""
    d = make_dir(tmp_path, {"1_a.sql": "CREATE TABLE a (id INT);\n",
                            "2_b.sql": "CREATE TABLE b (id INT);\nINSERT INTO nope VALUES (1);\n"})
    with pytest.raises(StatementError):
        engine.apply(sqlite_url, d, Options(tx_mode="none"))
    rows = dict((v, (t, p)) for v, t, p in dbcheck.query(
        sqlite_url, "SELECT version, typeof(partial_hashes), partial_hashes FROM atlas_schema_revisions"))
    assert rows["1"] == ("blob", b"null")
    kind, value = rows["2"]
    assert kind == "blob" and value.startswith(b'["h1:') and value.endswith(b'"]')
    assert dbcheck.query(sqlite_url, "SELECT count(*) FROM atlas_schema_revisions "
                                     "WHERE partial_hashes = X'6e756c6c'") == [(1,)]


def test_mariadb_revisions_table_ddl_like_atlas(maria_url: str, tmp_path: Path) -> None:
    engine.apply(maria_url, make_dir(tmp_path, {"1_a.sql": "CREATE TABLE a (id INT);\n"}))
    (_, ddl), = dbcheck.query(maria_url, "SHOW CREATE TABLE atlas_schema_revisions")
    assert "`executed_at` timestamp NULL DEFAULT NULL" in ddl, ddl


def test_mariadb_error_text_in_the_go_drivers_format(maria_url: str, tmp_path: Path) -> None:
    """Atlas's MySQL driver renders ``Error 1146 (42S02): Table 'db.t' doesn't exist``."""
    d = make_dir(tmp_path, {"1_a.sql": "CREATE TABLE a (id INT);\nINSERT INTO nope VALUES (1);\n"})
    with pytest.raises(StatementError) as info:
        engine.apply(maria_url, d)
    database = maria_url.rsplit("/", 1)[1].split("?")[0]
    expected = f"Error 1146 (42S02): Table '{database}.nope' doesn't exist"
    assert expected in str(info.value)
    row = dbcheck.revisions(maria_url)["1"]
    assert row.error == expected
