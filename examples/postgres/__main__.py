"""A PostgreSQL role and database (pulumi-postgresql) and their schema (pulumi-migrations).

The migration's URL is built from the outputs of the role and database resources, so on the
first preview it is unknown: the Migration logs "pending unknown until the database exists".

Config:
  pg_host / pg_port              server (default 127.0.0.1:5432)
  pg_admin_user                  a user allowed to create roles and databases (default postgres)
  pg_admin_password  (secret)    its password
  app_password       (secret)    password of the application role
  app_role / app_database        names (default app_owner / app)
"""

from pathlib import Path

import pulumi
import pulumi_postgresql as postgresql

from pulumi_migrations import Database, Migration, MigrationDirectory

HERE = Path(__file__).resolve().parent

config = pulumi.Config()
host = config.get("pg_host") or "127.0.0.1"
port = config.get_int("pg_port") or 5432
app_password = config.require_secret("app_password")

server = postgresql.Provider(
    "server",
    host=host,
    port=port,
    username=config.get("pg_admin_user") or "postgres",
    password=config.require_secret("pg_admin_password"),
    sslmode="disable",
    superuser=False,
)
on_server = pulumi.ResourceOptions(provider=server)
role = postgresql.Role("app-role", name=config.get("app_role") or "app_owner", login=True,
                       password=app_password, opts=on_server)
pg_database = postgresql.Database("app-database", name=config.get("app_database") or "app",
                                  owner=role.name, opts=on_server)

# The target: its URL is assembled from the outputs above and stored only as a secret.
database = Database("app", driver="postgres", host=host, port=port, user=role.name,
                    password=app_password, database=pg_database.name,
                    params={"sslmode": "disable"})
migrations = MigrationDirectory("migrations", path=str(HERE / "migrations"))
schema = Migration("app-schema", database=database, directory=migrations)

pulumi.export("database", database.display_url)
pulumi.export("server_version", database.server_version)
pulumi.export("revisions_table", database.revisions_table)
pulumi.export("schema_version", schema.applied_version)
pulumi.export("applied", schema.applied)
