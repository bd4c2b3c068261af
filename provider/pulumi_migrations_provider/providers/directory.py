"""``DirectoryProvider``: a migration directory as a Pulumi resource.

Inputs: ``path`` (absolute; the SDK resolves it). Outputs, all computed in ``check`` so a
preview already knows them: ``files`` (name, version, description, hash), ``latest_version``
and ``sum`` (the ``atlas.sum`` total). The path is not part of the diff: the same files in
another checkout are the same directory.
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

from ..errors import MigrateError
from ._common import (
    changed_keys,
    describe_directory,
    dir_failure_reason,
    error_first,
    is_unknown,
    load_directory,
    log,
    new_id,
)

#: Output keys that define the directory; ``path`` is deliberately absent.
DIFF_KEYS = ("sum", "files")


@error_first
class DirectoryProvider(ResourceProvider):
    """Validates a migration directory against its ``atlas.sum`` and describes its files.

    A stale ``atlas.sum`` is a check failure naming the file and the ``atlas.sum`` line.
    Holds no state; safe to share between threads.
    """

    serialize_as_secret_always = False

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Load and validate the directory; return ``path`` plus the computed outputs."""
        path = news.get("path")
        inputs: dict[str, Any] = {"path": path}
        if is_unknown(path):
            return CheckResult(inputs, [])
        try:
            directory, sums = load_directory(path)
        except MigrateError as err:
            return CheckResult(inputs, [CheckFailure("path", dir_failure_reason(err))])
        inputs.update(describe_directory(directory, sums))
        return CheckResult(inputs, [])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """A change of files or sum is an update; a new path or provider code is not."""
        changed = changed_keys(olds, news, DIFF_KEYS)
        return DiffResult(changes=bool(changed), replaces=[], delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        """Describe the directory (re-read now, so the outputs match the disk)."""
        return CreateResult(new_id("dir"), self._describe(props["path"]))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """Describe the directory again."""
        return UpdateResult(self._describe(news["path"]))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Re-read the directory; keep the recorded outputs when it is gone or invalid."""
        try:
            return ReadResult(id_, self._describe(props.get("path")))
        except MigrateError as err:
            log(f"refresh kept the recorded migration directory: {err}")
            return ReadResult(id_, dict(props))

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Nothing to do: the directory on disk belongs to the user."""

    @staticmethod
    def _describe(path: Any) -> dict[str, Any]:
        directory, sums = load_directory(path)
        return {"path": path, **describe_directory(directory, sums)}
