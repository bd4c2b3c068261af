"""Database targets: Atlas and SQLAlchemy URLs, or structured parts, parsed into one value.

A ``Target`` knows its dialect, where it connects and which schema the URL is bound to; it
never prints its password (``redacted()``, ``repr``) and scrubs it from driver messages.

Accepted URL forms::

    sqlite://file.db                    relative file (Atlas form: everything after // is the path)
    sqlite:///abs/path.db               absolute file
    sqlite://file?mode=memory           in-memory database
    sqlite+pysqlite:///rel.db           SQLAlchemy form (three slashes relative, four absolute)
    postgres://u:p@h:5432/db?sslmode=disable&search_path=app
    postgresql://..., postgresql+psycopg://...
    mysql://u:p@h:3306/db, maria://..., mariadb://..., mysql+pymysql://..., mariadb+pymysql://...

Passwords with reserved characters must be percent-encoded inside a URL; the structured
form (``Target.from_parts``) takes them as they are.
"""

from __future__ import annotations

import os
import re
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from ._record import FrozenRecord
from .errors import ConfigError

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up
if TYPE_CHECKING:
    from typing import Any, Mapping

_SCHEMES = {
    "sqlite": "sqlite", "sqlite3": "sqlite", "sqlite+pysqlite": "sqlite",
    "postgres": "postgresql", "postgresql": "postgresql", "postgresql+psycopg": "postgresql",
    "postgresql+psycopg2": "postgresql", "postgres+psycopg": "postgresql",
    "mysql": "mysql", "maria": "mysql", "mariadb": "mysql", "mysql+pymysql": "mysql",
    "mariadb+pymysql": "mysql",
}
_DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306}
_DRIVER_NAMES = {
    "sqlite": "sqlite", "sqlite3": "sqlite", "postgres": "postgresql", "postgresql": "postgresql",
    "pg": "postgresql", "mysql": "mysql", "mariadb": "mysql", "maria": "mysql",
}
_MASK = "****"
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


class Target(FrozenRecord):
    """Where migrations go. Build with ``Target.parse(url)`` or ``Target.from_parts(...)``.

    Frozen and hashable; ``==`` compares every field, the password included; ``repr`` and
    ``str`` never show the password.
    """

    __slots__ = _fields = ("dialect", "scheme", "host", "port", "user", "password", "database",
                           "params")
    _hidden = ("password",)
    dialect: str                         # "sqlite" | "postgresql" | "mysql" (MariaDB included)
    scheme: str                          # the scheme as given, for round-tripping ("maria", "postgres")
    host: str | None
    port: int | None
    user: str | None
    password: str | None
    database: str | None                 # PG/MySQL database; SQLite file path (None = memory)
    params: tuple[tuple[str, str], ...]

    def __init__(self, dialect: str, scheme: str = "", host: str | None = None,
                 port: int | None = None, user: str | None = None, password: str | None = None,
                 database: str | None = None, params: tuple[tuple[str, str], ...] = ()) -> None:
        self._assign(dialect, scheme, host, port, user, password, database, params)

    # --- construction ---------------------------------------------------------------------

    @classmethod
    def parse(cls, url: str) -> "Target":
        """Parse an Atlas or SQLAlchemy URL. Raises ConfigError (password-free) when malformed."""
        if not isinstance(url, str) or "://" not in url:
            raise ConfigError(
                "reading the database URL: expected a URL like sqlite://app.db, "
                "postgres://user:pass@host:5432/db or mysql://user:pass@host:3306/db"
            )
        scheme, rest = url.split("://", 1)
        lowered = scheme.lower()
        dialect = _SCHEMES.get(lowered)
        if dialect is None:
            raise ConfigError(
                f"reading the database URL: unsupported scheme {scheme!r}; use sqlite://, "
                "postgres:// or mysql:// (maria:// and mariadb:// work too)"
            )
        if dialect == "sqlite":
            return cls._parse_sqlite(lowered, rest)
        unencoded = ConfigError(
            f"reading the database URL {_redact_text(url)}: the user name or password holds an "
            "unencoded reserved character; percent-encode @ : / ? # % in them (or use the "
            "structured driver/host/user/password form)")
        authority = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
        after = rest[len(authority):]
        path, _, fragment = after.partition("#")
        if (any(c.isspace() for c in authority) or ("@" in rest and "@" not in authority)
                or "@" in path.partition("?")[0] or "@" in fragment):
            # A raw password with a space, or a '/', '?' or '#' in it that ended the authority
            # early (an '@' still follows, outside the query): never read part of it as the
            # host, the port or the database.
            raise unencoded
        userinfo, _, host_port = authority.rpartition("@")
        port_text = _port_text(host_port)
        if port_text and (not port_text.isdigit() or not 0 < int(port_text) < 65536):
            raise ConfigError(
                f"reading the database URL {_redact_text(url)}: the port {port_text!r} is not "
                "a number from 1 to 65535; fix the port (or leave it out for the default)")
        user_text, colon, password_text = userinfo.partition(":")
        for part, text in (("user name", user_text), ("password", password_text if colon else "")):
            if _BAD_ESCAPE.search(text):
                # unquote would keep '%zz' as it is: a password that is not the one written.
                raise ConfigError(
                    f"reading the database URL {_redact_text(url)}: the {part} holds a '%' that "
                    "is not followed by two hex digits; write a literal % as %25 (or use the "
                    "structured driver/host/user/password form)")
        try:
            parts = urlsplit(f"x://{rest}")
            port = parts.port
        except ValueError:
            # Never echo the parser's text: with an unencoded '/' or '#' it quotes the password.
            raise unencoded from None
        if "@" in rest and "@" not in parts.netloc:
            # A '/', '?' or '#' in the password ended the authority early: what follows (the
            # rest of the password) would be read as the database or the query. Refuse it.
            raise unencoded
        if not parts.hostname and not rest.startswith("/"):
            raise ConfigError(f"reading the database URL {_redact_text(url)}: no host given")
        if _BAD_ESCAPE.search(parts.path):
            raise ConfigError(
                f"reading the database URL {_redact_text(url)}: the database name holds a '%' that "
                "is not followed by two hex digits; write a literal % as %25")
        database = unquote(parts.path.lstrip("/")) or None
        params = tuple(parse_qsl(parts.query, keep_blank_values=True))
        if dialect == "mysql" and database is None:
            database = dict(params).get("database") or None
        if dialect == "postgresql" and database is None:
            # libpq would pick a database named like the user, often the maintenance database
            # "postgres": every file would be applied there without a word. Refuse instead.
            raise ConfigError(
                f"reading the database URL {_redact_text(url)}: no database name; add it to the "
                "path (postgres://user:pass@host:5432/DBNAME), naming the maintenance "
                "database explicitly if that really is the target")
        return cls(
            dialect=dialect, scheme=lowered, host=parts.hostname, port=port,
            user=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password is not None else None,
            database=database, params=params,
        )

    @classmethod
    def _parse_sqlite(cls, scheme: str, rest: str) -> "Target":
        path, _, query = rest.partition("?")
        params = tuple(parse_qsl(query, keep_blank_values=True))
        if scheme == "sqlite+pysqlite":
            # SQLAlchemy: sqlite:///rel.db is relative, sqlite:////abs.db absolute.
            path = path[1:] if path.startswith("/") else path
        if path.startswith("file:"):
            path = path[len("file:"):]
        path = unquote(path)
        memory = dict(params).get("mode") == "memory" or path in ("", ":memory:")
        return cls(dialect="sqlite", scheme=scheme, database=None if memory else path,
                   params=params)

    @classmethod
    def from_parts(cls, driver: str, *, host: str | None = None, port: int | None = None,
                   user: str | None = None, password: str | None = None,
                   database: str | None = None,
                   params: Mapping[str, Any] | None = None) -> "Target":
        """Build a target from structured parts; the password is taken verbatim (no encoding)."""
        dialect = _DRIVER_NAMES.get((driver or "").lower())
        if dialect is None:
            raise ConfigError(
                f"reading the database target: unknown driver {driver!r}; use sqlite, postgres, "
                "mysql or mariadb"
            )
        if dialect != "sqlite" and not host:
            raise ConfigError(f"reading the database target: driver {driver!r} needs a host")
        return cls(
            dialect=dialect, scheme=(driver or "").lower(), host=host,
            port=int(port) if port is not None else None, user=user, password=password,
            database=database,
            params=tuple((str(k), str(v)) for k, v in sorted((params or {}).items())),
        )

    # --- views ----------------------------------------------------------------------------

    @property
    def param_map(self) -> dict[str, str]:
        return dict(self.params)

    @property
    def is_memory(self) -> bool:
        return self.dialect == "sqlite" and self.database is None

    @property
    def bound_schema(self) -> str | None:
        """The schema the URL is bound to, as Atlas decides it (SQLite: always ``main``)."""
        if self.dialect == "sqlite":
            return "main"
        if self.dialect == "mysql":
            return self.database
        search_path = self.param_map.get("search_path")
        if search_path:
            return search_path.split(",")[0].strip().strip('"') or None
        return None

    def url(self, *, redact: bool = False) -> str:
        """Render as an Atlas URL; the password percent-encoded, or masked when ``redact``."""
        scheme = {"sqlite": "sqlite", "postgresql": "postgres", "mysql": "mysql"}[self.dialect]
        if self.scheme in ("maria", "mariadb", "postgresql"):
            scheme = self.scheme
        params = self.params
        if redact:
            params = tuple((k, _MASK if k.lower() in SECRET_PARAMS and v else v) for k, v in params)
        query = urlencode(params, safe=",/:*") if params else ""
        if self.dialect == "sqlite":
            path = self.database if self.database is not None else "file"
            if self.is_memory and "mode" not in self.param_map:
                query = "mode=memory" + ("&" + query if query else "")
            return f"sqlite://{path}" + (f"?{query}" if query else "")
        auth = ""
        if self.user is not None:
            auth = quote(self.user, safe="")
            if self.password is not None:
                auth += ":" + (_MASK if redact else quote(self.password, safe=""))
            auth += "@"
        host = self.host or ""
        if ":" in host:
            host = f"[{host}]"
        netloc = auth + host + (f":{self.port}" if self.port else "")
        path = "/" + quote(self.database, safe="") if self.database else "/"
        return f"{scheme}://{netloc}{path}" + (f"?{query}" if query else "")

    def redacted(self) -> str:
        """The URL with the password replaced by ``****``: safe for messages and logs."""
        return self.url(redact=True)

    def sqlite_path(self) -> str:
        """Absolute path of the SQLite file (``:memory:`` for in-memory)."""
        if self.database is None:
            return ":memory:"
        return os.path.abspath(self.database)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every password the URL carries: the userinfo's and a ``password``/``sslpassword``
        query parameter's (libpq and Atlas take both)."""
        found = [self.password] if self.password else []
        found += [v for k, v in self.params if k.lower() in SECRET_PARAMS and v]
        return tuple(found)

    def scrub(self, text: str) -> str:
        """Remove every form of every password from ``text`` (driver messages echo DSNs)."""
        for secret in self.secrets:
            text = scrub(text, secret)
        return text

    def __str__(self) -> str:  # never the password
        return self.redacted()


#: Query parameters whose value is a password: masked by ``redacted`` and ``scrub``.
SECRET_PARAMS = ("password", "sslpassword")


def masked_forms(password: str | None) -> list[str]:
    """What ``scrub`` replaces: ``password`` and its percent-encodings (as a URL or a DSN
    carries it), distinct and longest first; empty for no password."""
    if not password:
        return []
    forms = {password, quote(password, safe=""), quote(password), quote(password, safe="@:")}
    return sorted(forms, key=len, reverse=True)


def _has_any(text: str, forms: list[str]) -> bool:
    """Whether one of ``forms`` occurs in ``text``. A long text (a seed file's statement log,
    10 MB) is searched once with one pattern instead of once per form: with five forms of a
    password, 5 ms instead of 24 ms."""
    if len(forms) == 1 or len(text) < 65536:
        return any(form in text for form in forms)
    return _any_form(tuple(forms)).search(text) is not None


_ANY_FORM: dict[tuple[str, ...], Any] = {}


def _any_form(forms: tuple[str, ...]) -> Any:
    pattern = _ANY_FORM.get(forms)
    if pattern is None:
        pattern = _ANY_FORM[forms] = re.compile("|".join(re.escape(form) for form in forms))
    return pattern


def mask_forms(text: str, forms: list[str]) -> str:
    """Replace each occurrence of one of ``forms`` (longest first) in ``text`` by ``****`` where
    it can be a password: not inside a longer word (the password ``postgres`` leaves
    ``postgresql`` alone) and not as a URL's scheme or user name (``postgres://postgres:``),
    which come before ``://`` or right after it. Masking by the word instead turned our own
    messages into ``****://****:****@`` and ``****ql statement rules``."""
    if not forms or not _has_any(text, forms):
        return text
    alternatives = "|".join(re.escape(form) for form in forms)
    pattern = rf"(?<![A-Za-z0-9_])(?<!://)(?:{alternatives})(?![A-Za-z0-9_])(?!://)"
    json_doc = '":' in text

    def mask(match: re.Match[str]) -> str:
        before = text[max(0, match.start() - 300):match.start()]
        if re.search(_URL_PATH_START, before):  # a URL's path (database name): never a password
            return match.group(0)
        if json_doc and re.search(_OWN_JSON_VALUE, before[-40:]):  # our own JSON fields' values
            return match.group(0)
        return _MASK

    return re.sub(pattern, mask, text)


#: What comes before a URL's path: ``scheme://[user[:password]@]host[:port]/``. A password is
#: never there (``postgres://postgres:****@db/postgres`` read ``…@db/****``).
_URL_PATH_START = r"[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#\"']*/$"

#: The start of a JSON string value that only we write (Atlas's JSON: ``"Driver":"postgres"``,
#: ``"Scheme"``, ``"Type":"applied"``, ``"Status"``...), whatever the password: with the common
#: password ``postgres`` these read ``"Driver":"****"`` otherwise. No password is ever in them.
_OWN_JSON_VALUE = (r'"(?:Driver|Scheme|Schema|Path|RawPath|Dir|Type|Status|Next|Op|OperatorVersion|status|'
                   r'revisions_table|category|severity|code)":\s*"[^"\\]*$')


def scrub(text: str, password: str | None) -> str:
    """Replace ``password`` and its encodings in ``text`` by ``****`` (see ``mask_forms``)."""
    return mask_forms(text, masked_forms(password))


def _port_text(host_port: str) -> str:
    """What follows the host in ``host[:port]`` or ``[v6][:port]``, without the colon: everything
    after the first colon (``5432:99`` is a bad port, not part of the password)."""
    if host_port.startswith("["):
        after = host_port.partition("]")[2]
        return after[1:] if after.startswith(":") else after
    return host_port.partition(":")[2]


def _redact_text(url: str) -> str:
    """Best-effort masking of the password in a URL we could not parse."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return _MASK
    netloc_end = len(rest)
    at = rest.rfind("@", 0, netloc_end)
    if at == -1:
        return f"{scheme}://{rest.split('?')[0]}"
    creds, tail = rest[:at], rest[at + 1:]
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:{_MASK}@{tail}"


def as_target(value: "Target | str") -> Target:
    """Accept a Target or a URL string."""
    return value if isinstance(value, Target) else Target.parse(value)
