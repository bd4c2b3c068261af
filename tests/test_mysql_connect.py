"""MySQL/MariaDB connections: PyMySQL's default TLS context ("preferred" mode) is built once per
process and shared, and explicit TLS settings still get their own."""

from __future__ import annotations

from pulumi_migrations_provider.dialects import for_target
from pulumi_migrations_provider.dialects.mysql import _connection_class
from pulumi_migrations_provider.target import Target


def test_default_tls_context_is_shared_and_connections_work(maria_url: str) -> None:
    t = Target.parse(maria_url)
    dialect = for_target(t)
    first, second = (dialect.connect(t, timeout=10) for _ in range(2))
    assert first is not None and second is not None
    try:
        assert first.raw.ctx is second.raw.ctx  # one CA-store load, not one per connection
        assert first.query("SELECT 1") == [(1,)] and second.query("SELECT 2") == [(2,)]
    finally:
        first.close()
        second.close()


def test_explicit_tls_settings_get_their_own_context() -> None:
    cls = _connection_class()
    a = cls(host="127.0.0.1", ssl={"check_hostname": False}, defer_connect=True)
    b = cls(host="127.0.0.1", ssl={"check_hostname": False}, defer_connect=True)
    c = cls(host="127.0.0.1", defer_connect=True)
    assert a.ctx is not b.ctx and a.ctx is not c.ctx
    assert a.ctx.check_hostname is False
