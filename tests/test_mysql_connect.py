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


def test_default_tls_context_is_built_only_when_a_server_offers_tls(maria_url: str, monkeypatch) -> None:
    """The test server offers no TLS: connecting loads no CA store (~20 ms); the context is
    built the first time something needs it, once."""
    import ssl

    from pulumi_migrations_provider.dialects import mysql

    built: list[int] = []
    real = ssl.create_default_context

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        built.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(ssl, "create_default_context", counting)
    monkeypatch.setattr(mysql, "_CONNECTION_CLASS", None)
    t = Target.parse(maria_url)
    conn = for_target(t).connect(t, timeout=10)
    assert conn is not None
    try:
        assert conn.query("SHOW STATUS LIKE 'Ssl_cipher'") == [("Ssl_cipher", "")]  # plain TCP
        assert built == []
        assert conn.raw.ctx.verify_mode == ssl.CERT_NONE  # configured as PyMySQL configures it
        assert conn.raw.ctx.check_hostname is False
        _ = conn.raw.ctx.options
        assert built == [1]
    finally:
        conn.close()
