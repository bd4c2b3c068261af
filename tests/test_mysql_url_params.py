"""MySQL/MariaDB URL query parameters, read as Atlas's driver (go-sql-driver/mysql) reads them.

Audit: every parameter but ``charset`` and ``connect_timeout`` was silently ignored, so
``?tls=true`` connected without verifying anything, ``?time_zone=...`` (a session variable for
the Go driver) changed nothing, and a typo went unnoticed. Now: the parameters we honour, the Go
driver's own that change nothing for us (accepted, values checked), and every other name set as
a session system variable as the Go driver does; the server refusing one is one line naming it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pulumi_migrations_provider import engine
from pulumi_migrations_provider.dialects.mysql import IGNORED_PARAMS, url_settings
from pulumi_migrations_provider.errors import ConfigError
from pulumi_migrations_provider.target import Target
from tests.dbtools import query
from tests.dirtools import make_dir
from tests.test_cli import one_error_line, run

PROBE = {"1_probe.sql": "CREATE TABLE probe AS SELECT @@session.time_zone AS tz, "
                        "@@session.collation_connection AS coll, @@session.sql_mode AS mode;\n"}


def _with(url: str, query_text: str) -> str:
    return url + ("&" if "?" in url else "?") + query_text


def _probe(maria_url: str, tmp_path: Path, params: str) -> tuple[str, str, str]:
    d = make_dir(tmp_path, PROBE)
    result = run("apply", "--dir", d, "--url", _with(maria_url, params))
    assert result.exit_code == 0, result.output
    (row,) = query(maria_url, "SELECT tz, coll, mode FROM probe")
    return row[0], row[1], row[2]


def test_an_unknown_parameter_is_one_line_naming_it(maria_url: str, tmp_path: Path) -> None:
    d = make_dir(tmp_path, PROBE)
    result = run("status", "--dir", d, "--url", _with(maria_url, "frobnicate=1"))
    assert result.exit_code == 1, result.output
    line = one_error_line(result.stderr)
    assert "URL parameter frobnicate" in line and "Unknown system variable 'frobnicate'" in line
    assert "charset, collation, connect_timeout, database, timeout, tls" in line, line
    assert "parseTime" in line and "fix or remove it" in line, line
    assert "check the host" not in line, line


def test_other_names_are_session_variables_as_with_atlas(maria_url: str, tmp_path: Path) -> None:
    """As go-sql-driver/mysql: ``SET name = value`` once connected, the value being SQL."""
    tz, _, mode = _probe(maria_url, tmp_path,
                         "time_zone=%27%2B05%3A00%27&sql_mode=%27ANSI_QUOTES%27")
    assert (tz, mode) == ("+05:00", "ANSI_QUOTES")


def test_collation_and_charset_are_honoured(maria_url: str, tmp_path: Path) -> None:
    _, coll, _ = _probe(maria_url, tmp_path, "collation=utf8mb4_unicode_ci")
    assert coll == "utf8mb4_unicode_ci"


def test_the_go_drivers_own_parameters_are_accepted(maria_url: str, tmp_path: Path) -> None:
    tz, coll, _ = _probe(maria_url, tmp_path, "parseTime=true&multiStatements=true&loc=Local"
                         "&interpolateParams=true&readTimeout=30s&charset=utf8mb4,utf8")
    assert coll.startswith("utf8mb4_") and tz == "SYSTEM"


def test_every_ignored_parameter_is_accepted() -> None:
    values = {"loc": "UTC", "connectionAttributes": "a:b", "serverPubKey": "k",
              "maxAllowedPacket": "0", "readTimeout": "1s", "writeTimeout": "1s",
              "timeTruncate": "1s"}
    query_text = "&".join(f"{k}={values.get(k, 'true')}" for k in IGNORED_PARAMS)
    assert url_settings(Target.parse(f"mysql://h/db?{query_text}"))[1] == []


def test_tls_true_requires_tls(maria_url: str, tmp_path: Path) -> None:
    """The test server offers no TLS: ``tls=true`` must refuse it (it connected in clear);
    ``tls=false`` and ``tls=preferred`` connect."""
    d = make_dir(tmp_path, PROBE)
    result = run("status", "--dir", d, "--url", _with(maria_url, "tls=true"))
    assert result.exit_code == 1, result.output
    assert "SSL is required" in one_error_line(result.stderr)
    for mode in ("false", "preferred"):
        assert engine.status(_with(maria_url, f"tls={mode}"), d).status == "PENDING"


@pytest.mark.parametrize("params, words", [
    ("tls=bogus", "tls='bogus' is not a TLS mode we know; use one of true, false, skip-verify, "
                  "preferred"),
    ("parseTime=yes", "parseTime='yes' is not a boolean"),
    ("timeout=soon", "timeout='soon' is not a duration"),
    ("maxAllowedPacket=big", "maxAllowedPacket='big' is not a whole number"),
    ("autocommit=0", "autocommit cannot be set from the URL"),
    ("password=s3cret", "do not read a password parameter as a password"),
    ("sql-mode=x", "'sql-mode' is neither a parameter we know (charset, collation"),
])
def test_bad_parameters_are_refused_before_connecting(params: str, words: str) -> None:
    with pytest.raises(ConfigError) as raised:
        url_settings(Target.parse(f"mysql://u:s3cret@127.0.0.1:1/db?{params}"))
    message = str(raised.value)
    assert words in message and "s3cret" not in message, message
    assert "\n" not in message


def test_timeout_is_the_connect_timeout_in_seconds() -> None:
    settings, variables = url_settings(Target.parse("mysql://h/db?timeout=1500ms&wait_timeout=60"))
    assert settings["timeout"] == 1.5 and variables == [("wait_timeout", "60")]
