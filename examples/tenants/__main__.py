"""One migration directory applied to one database per tenant, in parallel.

Config:
  tenants        (object) list of tenant names (default: acme, globex, initech)
  url_template   (secret, optional) database URL with a ``{tenant}`` placeholder, e.g.
                 ``postgres://app:pw@db:5432/{tenant}?sslmode=disable``; default: one SQLite
                 file per tenant next to this file.
"""

from pathlib import Path

import pulumi

from pulumi_migrations import Migration, MigrationDirectory

HERE = Path(__file__).resolve().parent

config = pulumi.Config()
tenants = config.get_object("tenants") or ["acme", "globex", "initech"]
url_template = config.get_secret("url_template")


def tenant_url(tenant: str) -> pulumi.Input[str]:
    """The tenant's database URL (a secret Output when it comes from the template)."""
    if url_template is None:
        return f"sqlite://{HERE / f'tenant_{tenant}.db'}"
    return url_template.apply(lambda template: template.format(tenant=tenant))


migrations = MigrationDirectory("migrations", path=str(HERE / "migrations"))
versions = {}
for tenant in tenants:
    migration = Migration(f"tenant-{tenant}", url=tenant_url(tenant), directory=migrations)
    versions[tenant] = migration.applied_version

pulumi.export("latest_version", migrations.latest_version)
pulumi.export("versions", versions)
