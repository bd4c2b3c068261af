"""Hand the MySQL migrations in ./migrations to the Atlas operator.

Creates a ConfigMap (the files and atlas.sum, content-addressed name), a Secret holding the
database URL and an AtlasMigration pointing at both, like the operator's own sample
(config/samples/atlasmigration/default). Set ``renderYamlTo`` to write the manifests to a
directory instead of applying them to a cluster.
"""

from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s
from pulumi_migrations.manifests import AtlasMigrationManifests

config = pulumi.Config()
db_url = config.require_secret("dbUrl")
namespace = config.get("namespace") or "default"
render_to = config.get("renderYamlTo") or None

# Without renderYamlTo the default provider (your current kubeconfig context) is used.
provider = k8s.Provider("render", render_yaml_to_directory=render_to) if render_to else None

handoff = AtlasMigrationManifests(
    "example-db",
    directory=Path(__file__).parent / "migrations",
    url=db_url,
    namespace=namespace,
    labels={"app.kubernetes.io/part-of": "atlas-operator-handoff"},
    wait_for_ready=config.get_bool("waitForReady") or False,
    provider=provider,
)

pulumi.export("configMapName", handoff.config_map_name)
pulumi.export("secretName", handoff.secret_name)
pulumi.export("atlasMigrationName", handoff.migration_name)
