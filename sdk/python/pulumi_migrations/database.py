"""``Database``: the database migrations are applied to, as a Pulumi resource."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

import pulumi
import pulumi.dynamic

from pulumi_migrations_provider.errors import ConfigError
from pulumi_migrations_provider.providers.database import DatabaseProvider
from pulumi_migrations_provider.target import Target

from ._util import with_secret_outputs

__all__ = ["Database", "DatabaseArgs"]


@dataclass
class DatabaseArgs:
    """The set of arguments for constructing a Database resource.

    Give either ``url`` or ``driver`` with the parts (``host``, ``port``, ``user``,
    ``password``, ``database``, ``params``).

    :param url: Atlas or SQLAlchemy URL (``sqlite://app.db``, ``postgres://u:p@h:5432/db``,
        ``mysql://u:p@h:3306/db``). Always stored as a secret.
    :param driver: ``sqlite``, ``postgres``, ``mysql`` or ``mariadb`` (instead of ``url``).
    :param host: Server host name.
    :param port: Server port (the driver's default when omitted).
    :param user: User name.
    :param password: Password, taken verbatim (no percent-encoding needed); always secret.
    :param database: Database name (SQLite: the file path).
    :param params: URL query parameters, e.g. ``{"sslmode": "disable"}``.
    :param revisions_schema: Schema (PostgreSQL) or database (MySQL) holding Atlas's revisions
        table; default as Atlas decides: the URL's database (MySQL), the ``search_path`` schema
        (PostgreSQL), else a schema named ``atlas_schema_revisions``; SQLite always ``main``.
    """

    url: Optional[pulumi.Input[str]] = None
    """Database URL (secret)."""
    driver: Optional[pulumi.Input[str]] = None
    """``sqlite``, ``postgres``, ``mysql`` or ``mariadb``."""
    host: Optional[pulumi.Input[str]] = None
    """Server host name."""
    port: Optional[pulumi.Input[int]] = None
    """Server port."""
    user: Optional[pulumi.Input[str]] = None
    """User name."""
    password: Optional[pulumi.Input[str]] = None
    """Password (secret)."""
    database: Optional[pulumi.Input[str]] = None
    """Database name, or the SQLite file path."""
    params: Optional[pulumi.Input[Mapping[str, pulumi.Input[str]]]] = None
    """URL query parameters."""
    revisions_schema: Optional[pulumi.Input[str]] = None
    """Where Atlas's revisions table lives."""

    def url_output(self) -> pulumi.Output[str]:
        """Return the database URL as a secret Output. Raises ConfigError for url and driver
        together, or neither."""
        if self.url is not None and self.driver is not None:
            raise ConfigError("declaring a Database: give url= or driver= with its parts, not both")
        if self.url is not None:
            return pulumi.Output.secret(self.url)
        if self.driver is None:
            raise ConfigError("declaring a Database: give url= or driver= with host, user, "
                              "password and database")

        def build(parts: list[Any]) -> str:
            driver, host, port, user, password, database, params = parts
            return Target.from_parts(
                driver, host=host, port=int(port) if port is not None else None, user=user,
                password=password, database=database, params=params,
            ).url()

        parts = pulumi.Output.all(self.driver, self.host, self.port, self.user, self.password,
                                  self.database, pulumi.Output.from_input(self.params or {}))
        return pulumi.Output.secret(parts.apply(build))


class Database(pulumi.dynamic.Resource, module="migrations", name="Database"):
    """A database to migrate. The URL and password are secrets in state, outputs and diffs.

    Creating it connects read-only to learn the dialect, server version and where the
    revisions table lives; nothing is created, and destroying it leaves the database alone.

    ## Example Usage

    ```python
    from pulumi_migrations import Database
    db = Database("app", driver="postgres", host="db.internal", user="app",
                  password=config.require_secret("dbPassword"), database="app",
                  params={"sslmode": "require"})
    ```
    """

    url: pulumi.Output[str]
    """The full URL (secret)."""
    revisions_schema: pulumi.Output[Optional[str]]
    """The declared revisions schema, if any."""
    display_url: pulumi.Output[str]
    """The URL with the password masked (``****``), safe to show."""
    dialect: pulumi.Output[str]
    """``sqlite``, ``postgresql`` or ``mysql``."""
    flavor: pulumi.Output[str]
    """``sqlite``, ``postgresql``, ``mysql`` or ``mariadb``."""
    server_version: pulumi.Output[str]
    """The server's version string."""
    revisions_table: pulumi.Output[str]
    """Schema-qualified location of the revisions table."""

    def __init__(self, resource_name: str, args: DatabaseArgs | None = None,
                 opts: pulumi.ResourceOptions | None = None, **kwargs: Any) -> None:
        """Declare a database; give ``args`` or the ``DatabaseArgs`` fields as keywords."""
        if args is None:
            args = DatabaseArgs(**kwargs)
        elif kwargs:
            raise TypeError("Database takes either args or keyword arguments, not both")
        props = {
            "url": args.url_output(),
            "revisions_schema": args.revisions_schema,
            "display_url": None,
            "dialect": None,
            "flavor": None,
            "server_version": None,
            "revisions_table": None,
        }
        super().__init__(DatabaseProvider(), resource_name, props,
                         with_secret_outputs(opts, ["url"]))
