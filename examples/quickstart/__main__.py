"""Quickstart: apply two Atlas-format migrations to a SQLite file.

Config (optional): ``database_url`` - where to migrate (default: ``quickstart.db`` next to
this file). ``pulumi preview --diff`` lists the files ``up`` would apply.
"""

from pathlib import Path

import pulumi

from pulumi_migrations import Migration, MigrationDirectory

HERE = Path(__file__).resolve().parent

config = pulumi.Config()
database_url = config.get("database_url") or f"sqlite://{HERE / 'quickstart.db'}"

migrations = MigrationDirectory("migrations", path=str(HERE / "migrations"))
app = Migration("app-schema", url=database_url, directory=migrations)

pulumi.export("latest_version", migrations.latest_version)
pulumi.export("applied_version", app.applied_version)
pulumi.export("applied", app.applied)
pulumi.export("pending", app.pending)
