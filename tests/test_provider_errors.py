"""A failed ``pulumi up`` shows the one-line error first, through the SDK's real provider server.

The server sends ``traceback.format_exc()`` to the engine, which prints it whole; before the
fix the message came last, after a traceback through the engine. Now the first line is
``pulumi-migrations: <message>`` and the traceback after it is short. Every dialect.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pulumi_migrations_provider.migdir import MigrationDir
from pulumi_migrations_provider.providers import MigrationProvider
from tests.dirtools import make_dir
from tests.grpc_harness import ProviderError, ProviderServer, Stack

MIG = "pulumi-python:dynamic/migrations:Migration"
GOOD = ("1_users.sql", "CREATE TABLE users (id INTEGER PRIMARY KEY);\n")
BAD = ("2_bad.sql", "CREATE TABLE audit (id INTEGER);\nCREATE TABLEX broken (id INTEGER);\n")


def _up(stack: Stack, url: str, d: Path):
    return stack.up("app", MIG, MigrationProvider(), {"url": url, "dir": str(d)}, secrets={"url"},
                    additional_secret_outputs=["url"])


def test_failed_up_shows_the_one_line_error_first(provider_server: ProviderServer, db_url: str,
                                                  tmp_path: Path) -> None:
    stack = Stack(provider_server)
    d = make_dir(tmp_path, dict([GOOD]))
    _up(stack, db_url, d)
    (d / BAD[0]).write_text(BAD[1])
    MigrationDir.load(d).write_sum()
    with pytest.raises(ProviderError) as exc:
        _up(stack, db_url, d)
    details = exc.value.details
    lines = details.strip().splitlines()
    first = lines[0]
    assert first.startswith("pulumi-migrations: applying 2_bad.sql (version 2): statement 2 at "
                            "2_bad.sql:2:1 failed:"), details
    assert "CREATE TABLEX" in first and "Traceback" not in first
    assert "Traceback" not in details.split("\n\n", 1)[0]  # nothing before the message
    # The traceback that follows is the provider server's frames and ours, not the engine's.
    assert len(lines) <= 14, details
    assert "executor.py" not in details and "engine.py" not in details
    assert exc.value.last_line.startswith("pulumi_migrations_provider.errors.StatementError: applying 2_bad.sql")

