"""A Pulumi program using every SDK resource and input, checked by ``mypy --strict``
(tests/test_typing.py). It is never run: it exists so that a change to the SDK's types that
would break a user's type-checked program breaks the suite first.
"""

from __future__ import annotations

import pulumi

from pulumi_migrations import (
    AtlasMigrationManifests,
    AtlasMigrationManifestsArgs,
    Database,
    DatabaseArgs,
    Duration,
    ExecOrder,
    Migration,
    MigrationArgs,
    MigrationDirectory,
    MigrationDirectoryArgs,
    MigrationEntry,
    MigrationFileInfo,
    TxMode,
)

config = pulumi.Config()
password: pulumi.Output[str] = config.require_secret("dbPassword")

migrations = MigrationDirectory("migrations", path="migrations")
same_dir = MigrationDirectory("migrations-args", MigrationDirectoryArgs(path="migrations"),
                              pulumi.ResourceOptions(protect=True))

db = Database("db", driver="postgres", host="db.internal", port=5432, user="app",
              password=password, database="app", params={"sslmode": "require"},
              revisions_schema="atlas")
by_url = Database("db-url", DatabaseArgs(url=config.require_secret("dbUrl")))

order: ExecOrder = "linear-skip"
mode: TxMode = "all"
wait: Duration = "1m30s"
app = Migration("app", database=db, directory=migrations, version=20240102000000,
                baseline="20240101000000", allow_dirty=False, exec_order=order, tx_mode=mode,
                lock_timeout=wait, revisions_schema="atlas", allow_changed=False,
                lint={"destructive": "warn", "DS103": "off"})
# The options in second place, as generated Pulumi SDKs take them; seconds as a number.
tenant = Migration("tenant", pulumi.ResourceOptions(depends_on=[app]), url=by_url.url,
                   dir="migrations", exec_order="non-linear", lock_timeout=5)
from_args = Migration("from-args", MigrationArgs(url="sqlite://app.db", dir="migrations",
                                                 tx_mode="none", lock_timeout=2.5),
                      opts=pulumi.ResourceOptions(ignore_changes=["version"]))

handoff = AtlasMigrationManifests("handoff", directory="migrations", url=by_url.url,
                                  namespace="prod", labels={"team": "data"},
                                  exec_order="linear", wait_for_ready=True,
                                  ready_timeout_seconds=600)
handoff_args = AtlasMigrationManifests(
    "handoff-args", AtlasMigrationManifestsArgs(directory="migrations", url_secret="db-creds",
                                                inline=True, backoff_limit=3))

# Outputs carry their types.
applied_version: pulumi.Output[str | None] = app.applied_version
applied: pulumi.Output[list[str]] = app.applied
status: pulumi.Output[str] = tenant.status
flavor: pulumi.Output[str] = db.flavor
latest: pulumi.Output[str | None] = migrations.latest_version
config_map: pulumi.Output[str | None] = handoff.config_map_name


def names(files: list[MigrationFileInfo]) -> list[str]:
    return [f["name"] + "@" + f["version"] for f in files]


def statements(entries: dict[str, MigrationEntry]) -> int:
    return sum(e.get("statements", 0) for e in entries.values())


pulumi.export("files", migrations.files.apply(names))
pulumi.export("statements", app.migrations.apply(statements))
pulumi.export("plan", from_args.plan)
pulumi.export("secret", handoff_args.secret_name)
pulumi.export("same", same_dir.sum)
