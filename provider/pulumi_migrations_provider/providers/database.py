"""``DatabaseProvider``: a migration target as a Pulumi resource.

Inputs: ``url`` (secret: the SDK always sends it as one, and the output keeps the same key so
the engine keeps it secret) and ``revisions_schema``. Outputs: ``display_url`` (password
masked), ``dialect``, ``flavor``, ``server_version`` and ``revisions_table`` (schema-qualified
location of Atlas's revisions table). Nothing is ever created or dropped in the database.
"""

from __future__ import annotations

from typing import Any

from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)

from .. import engine
from ..errors import ConfigError, ConnectError
from ..reports import Options
from ..target import Target
from ._common import changed_keys, error_first, is_unknown, log, new_id, where

INPUT_KEYS = ("url", "revisions_schema")
DIFF_KEYS = ("url", "revisions_schema")


@error_first
class DatabaseProvider(ResourceProvider):
    """Connects (read-only) to learn the dialect, server version and revisions table location.

    Holds no connections and no state; safe to share between threads.
    """

    serialize_as_secret_always = False

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Parse the URL (offline); a malformed URL is a failure on ``url`` without the password."""
        inputs = {k: news[k] for k in INPUT_KEYS if news.get(k) is not None}
        url = news.get("url")
        if is_unknown(url):
            return CheckResult(inputs, [])
        if not isinstance(url, str):
            return CheckResult(inputs, [CheckFailure("url", "a database URL is required")])
        try:
            target = Target.parse(url)
        except ConfigError as err:
            return CheckResult(inputs, [CheckFailure("url", str(err))])
        inputs["display_url"] = target.redacted()
        inputs["dialect"] = target.dialect
        return CheckResult(inputs, [])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Another URL or revisions schema is an update (never a replace: nothing to drop)."""
        changed = changed_keys(olds, news, DIFF_KEYS)
        return DiffResult(changes=bool(changed), replaces=[], delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        """Inspect the database. Raises ConnectError when it cannot be reached."""
        return CreateResult(new_id("database"), self._inspect(props))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """Inspect the (new) database."""
        return UpdateResult(self._inspect(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Inspect again; keep the recorded outputs when the database is unreachable."""
        try:
            return ReadResult(id_, self._inspect(props))
        except ConnectError as err:
            log(f"refresh kept the recorded database facts: {err}")
            return ReadResult(id_, dict(props))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """Leave the database and its schema in place, and say so."""
        log(f"{where(props.get('url'))}: removed from the stack; the database and its schema are left in place")

    @staticmethod
    def _inspect(props: dict[str, Any]) -> dict[str, Any]:
        target = Target.parse(props["url"])
        options = Options(revisions_schema=props.get("revisions_schema") or None)
        info = engine.inspect(target, options)
        outs = {k: props[k] for k in INPUT_KEYS if props.get(k) is not None}
        outs.update(
            display_url=target.redacted(), dialect=info.dialect, flavor=info.flavor,
            server_version=info.server_version, revisions_table=info.revisions_table,
        )
        return outs
