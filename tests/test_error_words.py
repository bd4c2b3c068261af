"""Errors that know their option (issue 12): the engine's text is neutral, each edge words the
remedy from its own table, and a Pulumi check failure points at the input the error is about.

Through the real CLI and the real provider server (``python -m pulumi.dynamic`` over gRPC).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pulumi_migrations_provider import errors
from pulumi_migrations_provider.cli import HINT_WORDS as CLI_WORDS
from pulumi_migrations_provider.providers import MigrationProvider
from pulumi_migrations_provider.providers._common import HINT_WORDS as RESOURCE_WORDS
from pulumi_migrations_provider.reports import Options
from tests.dirtools import make_dir
from tests.grpc_harness import CheckFailed, ProviderError, ProviderServer, Stack

MIG = "pulumi-migrations:index:Migration"


def test_every_hint_is_worded_by_both_edges() -> None:
    assert set(CLI_WORDS) == set(errors.HINTS) == set(RESOURCE_WORDS)
    for key in errors.HINTS:
        assert "--" in CLI_WORDS[key], key           # the CLI names its flag
        assert "--" not in RESOURCE_WORDS[key], key  # the resource names its input


@pytest.mark.parametrize("kwargs, option", [
    ({"exec_order": "sideways"}, "exec_order"), ({"tx_mode": "some"}, "tx_mode"),
    ({"baseline": "1", "allow_dirty": True}, "baseline"), ({"lock_timeout": -1}, "lock_timeout"),
    ({"to_version": "2", "amount": 1}, "to_version"), ({"amount": 0}, "amount"),
])
def test_option_errors_carry_their_field(kwargs: dict, option: str) -> None:
    with pytest.raises(errors.ConfigError) as info:
        Options(**kwargs)
    assert info.value.option == option


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pulumi_migrations_provider", *args],
                          capture_output=True, text=True, timeout=60)


def _dirty_sqlite(tmp_path: Path) -> tuple[str, Path]:
    import sqlite3

    db = tmp_path / "app.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE legacy (id INT)")
    d = make_dir(tmp_path / "m", {"1_a.sql": "CREATE TABLE a (id INT);\n"})
    return f"sqlite://{db}", d


def test_not_clean_in_cli_words_and_in_resource_words(provider_server: ProviderServer, tmp_path: Path) -> None:
    url, d = _dirty_sqlite(tmp_path)
    proc = _cli("apply", "--dir", f"file://{d}", "--url", url)
    assert proc.returncode == 1
    assert proc.stderr.strip().endswith(
        "it is not clean (found table 'legacy'); pass --baseline VERSION to mark existing "
        "migrations as applied, or --allow-dirty to apply on top of it")
    with pytest.raises(CheckFailed) as info:
        Stack(provider_server).preview("app", MIG, MigrationProvider(), {"url": url, "dir": str(d)},
                              secrets={"url"})
    [(prop, reason)] = info.value.failures
    assert reason.endswith("it is not clean (found table 'legacy'); set baseline=VERSION to mark "
                           "existing migrations as applied, or allow_dirty=True to apply on top of it")
    assert "--" not in reason


def test_a_bad_option_points_at_its_input(provider_server: ProviderServer, tmp_path: Path) -> None:
    d = make_dir(tmp_path / "m", {"1_a.sql": "CREATE TABLE a (id INT);\n"})
    url = f"sqlite://{tmp_path}/app.db"
    for inputs, prop in (({"lock_timeout": "soon"}, "lock_timeout"),
                         ({"exec_order": "sideways"}, "exec_order"),
                         ({"tx_mode": "some"}, "tx_mode")):
        with pytest.raises(CheckFailed) as info:
            Stack(provider_server).preview("app", MIG, MigrationProvider(),
                                  {"url": url, "dir": str(d), **inputs}, secrets={"url"})
        assert [p for p, _ in info.value.failures] == [prop], inputs


def test_a_failed_up_is_worded_as_inputs(provider_server: ProviderServer, tmp_path: Path) -> None:
    """The error raised by ``up`` (not only the check) names inputs; the engine's error object
    itself is left as it was (no rewritten ``args``)."""
    d = make_dir(tmp_path / "m", {"1_a.sql": "-- atlas:txmode none\n\nCREATE TABLE a (id INT);\n"})
    url = f"sqlite://{tmp_path}/app.db"
    with pytest.raises((ProviderError, CheckFailed)) as info:
        Stack(provider_server).up("app", MIG, MigrationProvider(),
                         {"url": url, "dir": str(d), "tx_mode": "all"}, secrets={"url"})
    text = getattr(info.value, "details", None) or str(info.value)  # what the engine shows
    assert "cannot set txmode directive to 'none' when txmode 'all' is set globally; drop the " \
           "directive or set tx_mode=\"file\"" in text
    assert "--tx-mode" not in text
