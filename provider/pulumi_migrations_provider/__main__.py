"""``python -m pulumi_migrations_provider``: the pulumi-migrations CLI."""

from .console import run

if __name__ == "__main__":
    run()
