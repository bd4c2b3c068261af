"""Small helpers shared by the SDK's resources."""

from __future__ import annotations

import os
from typing import Any

import pulumi


def absolute_path(path: pulumi.Input[str]) -> pulumi.Input[str]:
    """Resolve a path against the program's working directory (plain strings stay plain)."""
    if isinstance(path, str):
        return os.path.abspath(path)
    resolved: pulumi.Output[str] = pulumi.Output.from_input(path)  # type: ignore[arg-type]
    return resolved.apply(lambda p: os.path.abspath(p) if p else p)


def version_text(version: Any) -> Any:
    """Accept ``2`` as well as ``"2"`` for a version (plain values only; Outputs pass through)."""
    if isinstance(version, bool):
        raise TypeError("a migration version is a string such as '20240101000000', not a bool")
    if isinstance(version, int):
        return str(version)
    return version


def with_secret_outputs(opts: pulumi.ResourceOptions | None, keys: list[str]) -> pulumi.ResourceOptions:
    """Return ``opts`` with ``additional_secret_outputs`` extended by ``keys``."""
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=keys))
