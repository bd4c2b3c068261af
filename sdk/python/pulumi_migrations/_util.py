"""Small helpers shared by the SDK's resources: the constructor convention, paths, versions.

Every resource takes ``(resource_name, args=None, opts=None, *, <inputs>)``, as Pulumi's
generated SDKs do: the inputs as keywords, or one ``XArgs`` object; the ``ResourceOptions`` as
``opts=`` or in second place (``Migration("app", ResourceOptions(...), url=...)``). The
keyword-only parameters of ``X.__init__`` are exactly the fields of ``XArgs``, with the same
types and defaults (tests/test_typing.py holds them equal); ``resolve_args`` turns either form
into one ``XArgs``.

Adding an input ``foo`` to resource ``X``:

1. a field ``foo`` on ``XArgs`` (its type, default None) and a ``:param foo:`` line in the
   ``XArgs`` docstring (the one place inputs are documented);
2. the same name, type and default as a keyword-only parameter of ``X.__init__``;
3. the provider: ``foo`` in its key tuple (``providers/migration.py`` ``OPTION_KEYS``) and what
   it does with it.

``Migration`` and ``Database`` send every ``XArgs`` field to the provider under its own name
(except the fields they turn into ``url`` and ``dir``), so nothing else in the SDK changes.
tests/test_typing.py fails when 1, 2 and 3 disagree.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Any, TypeVar

import pulumi

A = TypeVar("A")


def resolve_args(resource: str, cls: type[A], args: A | pulumi.ResourceOptions | None,
                 opts: pulumi.ResourceOptions | None,
                 keywords: Mapping[str, Any]) -> tuple[A, pulumi.ResourceOptions | None]:
    """Return the ``cls`` (a dataclass) and the options of one constructor call.

    ``keywords`` holds the constructor's keyword-only parameters (its ``locals()``); those
    left at their default are "not given". Raises TypeError for args and keywords together,
    options given twice, an ``args`` of another type, or a required input missing.
    """
    if isinstance(args, pulumi.ResourceOptions):
        if opts is not None:
            raise TypeError(f"{resource}: give the ResourceOptions once (second, or as opts=)")
        args, opts = None, args
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    given = {f.name: keywords[f.name] for f in fields if _given(f, keywords[f.name])}
    if args is None:
        missing = [f.name for f in fields if f.default is dataclasses.MISSING and f.name not in given]
        if missing:
            raise TypeError(f"{resource} needs {', '.join(m + '=' for m in missing)} "
                            f"(or a {cls.__name__})")
        return cls(**given), opts
    if not isinstance(args, cls):
        raise TypeError(f"{resource}: args must be a {cls.__name__}, not {type(args).__name__}")
    if given:
        raise TypeError(f"{resource} takes a {cls.__name__} or keyword arguments, not both "
                        f"(keywords given: {', '.join(given)})")
    return args, opts


def _given(field: dataclasses.Field[Any], value: Any) -> bool:
    """False for a keyword left at its field's default (``None``, ``False``, ``"url"``)."""
    default = None if field.default is dataclasses.MISSING else field.default
    return value is not default and not (type(value) is type(default) and value == default)


def absolute_path(path: pulumi.Input[str]) -> pulumi.Input[str]:
    """Resolve a path against the program's working directory (plain strings stay plain)."""
    if isinstance(path, str):
        return os.path.abspath(path)
    resolved: pulumi.Output[str] = pulumi.Output.from_input(path)
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
