"""pulumi-migrations engine: Atlas-format migration directories applied to SQLite, PostgreSQL and MySQL/MariaDB."""

__version__ = "0.1.0"
