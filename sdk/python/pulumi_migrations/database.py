"""``Database``: the database migrations are applied to, as a Pulumi resource."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Mapping, Optional, Union

import pulumi
import pulumi.dynamic

from pulumi_migrations_provider.errors import ConfigError
from pulumi_migrations_provider.providers.database import DatabaseProvider
from pulumi_migrations_provider.target import Target

from ._types import Driver
from ._util import resolve_args, with_secret_outputs

__all__ = ["Database", "DatabaseArgs"]

#: The fields that only build the ``url`` input (not sent to the provider themselves).
URL_PARTS = ("url", "driver", "host", "port", "user", "password", "database", "params")
#: The provider's outputs beyond the inputs (declared as attributes on ``Database``).
OUTPUTS = ("display_url", "dialect", "flavor", "server_version", "revisions_table")


@dataclass(kw_only=True)
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

    # Fields outside URL_PARTS are sent to the provider under their own name;
    # Database.__init__ repeats these as keyword-only parameters.
    url: Optional[pulumi.Input[str]] = None
    driver: Optional[pulumi.Input[Driver]] = None
    host: Optional[pulumi.Input[str]] = None
    port: Optional[pulumi.Input[int]] = None
    user: Optional[pulumi.Input[str]] = None
    password: Optional[pulumi.Input[str]] = None
    database: Optional[pulumi.Input[str]] = None
    params: Optional[pulumi.Input[Mapping[str, pulumi.Input[str]]]] = None
    revisions_schema: Optional[pulumi.Input[str]] = None

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

    def __init__(self, resource_name: str,
                 args: Optional[Union[DatabaseArgs, pulumi.ResourceOptions]] = None,
                 opts: Optional[pulumi.ResourceOptions] = None, *,
                 url: Optional[pulumi.Input[str]] = None,
                 driver: Optional[pulumi.Input[Driver]] = None,
                 host: Optional[pulumi.Input[str]] = None,
                 port: Optional[pulumi.Input[int]] = None,
                 user: Optional[pulumi.Input[str]] = None,
                 password: Optional[pulumi.Input[str]] = None,
                 database: Optional[pulumi.Input[str]] = None,
                 params: Optional[pulumi.Input[Mapping[str, pulumi.Input[str]]]] = None,
                 revisions_schema: Optional[pulumi.Input[str]] = None) -> None:
        """Declare a database.

        :param resource_name: The resource's name in the stack.
        :param args: A ``DatabaseArgs`` instead of the keywords (or the ``ResourceOptions``,
            as generated Pulumi SDKs accept them in second place).
        :param opts: Options for the resource.

        The keywords are the fields of ``DatabaseArgs``, documented there. Raises ConfigError
        for ``url`` and ``driver`` together, or neither; TypeError for a ``DatabaseArgs`` and
        keywords together.
        """
        inputs, opts = resolve_args("Database", DatabaseArgs, args, opts, locals())
        props: dict[str, Any] = {f.name: getattr(inputs, f.name) for f in fields(inputs)
                                 if f.name not in URL_PARTS}
        props["url"] = inputs.url_output()
        for output in OUTPUTS:
            props[output] = None
        super().__init__(DatabaseProvider(), resource_name, props,
                         with_secret_outputs(opts, ["url"]))
