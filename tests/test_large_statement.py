"""A statement larger than MariaDB's max_allowed_packet (issue 8: a 50 MB INSERT was reported as
"(code 0); check the database user's privileges"): one line naming the file, the statement, its
size and the setting, before anything is written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.dirtools import make_dir
from tests.helpers import dbcheck

ROOT = Path(__file__).resolve().parent.parent


def test_a_50_mb_statement_on_mariadb_says_max_allowed_packet(maria_url: str, tmp_path: Path) -> None:
    big = "INSERT INTO a (v) VALUES ('" + "x" * (50 * 1024 * 1024) + "');\n"
    d = make_dir(tmp_path, {"1_a.sql": "CREATE TABLE a (v LONGTEXT);\n", "2_b.sql": big})
    env = dict(os.environ, PYTHONPATH=str(ROOT), TMPDIR=str(tmp_path))
    env.pop("DATABASE_URL", None)
    proc = subprocess.run([sys.executable, "-m", "pulumi_migrations_provider", "apply", "--dir", str(d),
                           "--url", maria_url], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 1 and len(lines) == 1, proc.stderr[:2000]
    line = lines[0]
    assert len(line) < 600, line[:600]
    assert "statement 1 at 2_b.sql:1:1" in line and "max_allowed_packet" in line, line
    assert "52,428,8" in line  # the size in bytes
    assert "privileges" not in line and "code 0" not in line
    assert dbcheck.tables(maria_url) == set()  # nothing written: not even the revisions table
