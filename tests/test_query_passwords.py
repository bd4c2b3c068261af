"""A password given as a URL query parameter (``?password=``, ``?sslpassword=``, which libpq
and Atlas accept) is masked like the userinfo's: in messages, JSON, fan-out output and
manifests (a dev URL carrying one goes into a Secret). Found by a review of issue 8/9's rules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pulumi_migrations_provider import k8s
from pulumi_migrations_provider.target import Target
from tests.dirtools import make_dir

SECRET = "S3cretPw"
PG = f"postgres://app@127.0.0.1:1/db?password={SECRET}"
MY = f"mysql://root@127.0.0.1:1/db?sslpassword={SECRET}"


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pulumi_migrations_provider", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_target_masks_query_passwords() -> None:
    t = Target.parse(PG)
    assert t.redacted() == "postgres://app@127.0.0.1:1/db?password=****"
    assert t.secrets == (SECRET,)
    assert SECRET not in t.scrub(f"FATAL: bad password={SECRET} for app")


def test_cli_never_prints_a_query_password(tmp_path: Path) -> None:
    d = make_dir(tmp_path / "m", {"1_a.sql": "CREATE TABLE a (id INT);\n"})
    runs = [("status", "--url", PG), ("status", "--url", PG, "--format", "json"),
            ("status", "--url", PG, "--url", MY), ("apply", "--url", MY),
            ("lint", "--url", PG, "--format", "json")]
    for args in runs:
        proc = _cli(*args, "--dir", f"file://{d}", cwd=tmp_path)
        assert SECRET not in proc.stdout + proc.stderr, args
        assert "****" in proc.stdout + proc.stderr, args


def test_a_dev_url_with_a_query_password_goes_into_a_secret(tmp_path: Path) -> None:
    d = make_dir(tmp_path / "m", {"1_a.sql": "CREATE TABLE a (id INT);\n"})
    objects = k8s.render_manifests(d, name="app", url_secret="s", dev_url=PG)
    am = next(o for o in objects if o["kind"] == "AtlasMigration")
    assert "devURL" not in am["spec"] and "devURLFrom" in am["spec"]
    proc = _cli("manifests", "--dir", f"file://{d}", "--name", "app", "--url-secret", "s",
                "--dev-url", PG, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "devURLFrom:" in proc.stdout and "devURL:" not in proc.stdout
