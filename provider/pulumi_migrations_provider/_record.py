"""Plain value classes for the start-up path: what ``@dataclass`` would generate, written once.

``import dataclasses`` costs ~6 ms (it imports ``inspect``, hence ``ast``, ``dis``,
``tokenize``) and each ``@dataclass`` execs generated code at import; a no-op ``apply`` must
start fast (see tests/bench/README.md). So the classes a no-op run loads subclass ``Record``
(or ``FrozenRecord``), list their fields in ``_fields`` and write their own ``__init__``.
Every other module (loaded only when something runs: events, executor, lex, lint, ...) uses
dataclasses.

Example::

    class Point(FrozenRecord):
        __slots__ = _fields = ("x", "y")
        _hidden = ("y",)                  # left out of repr, still compared

        def __init__(self, x: int, y: int = 0) -> None:
            self._assign(x, y)
"""

from __future__ import annotations


TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up
if TYPE_CHECKING:
    from typing import Any, ClassVar, TypeVar

    _R = TypeVar("_R", bound="Record")

__all__ = ["Record", "FrozenRecord"]


class Record:
    """``==`` over ``_fields`` (same class only) and ``repr`` in ``Name(field=value, ...)``
    form without the ``_hidden`` fields, as a dataclass has. Mutable and unhashable."""

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()   # in constructor order; what == compares
    _hidden: ClassVar[tuple[str, ...]] = ()   # fields repr leaves out (a dataclass's repr=False)

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._fields)

    def _asdict(self) -> dict[str, Any]:
        """Field name to value in ``_fields`` order, lists copied (``dataclasses.asdict``,
        one level deep)."""
        return {name: list(value) if isinstance(value, list) else value
                for name, value in zip(self._fields, self._values())}

    def replace(self: _R, **changes: Any) -> _R:
        """A new instance with ``changes`` applied (``dataclasses.replace``, lists copied): the
        constructor runs again, validation included. This default passes every field to
        ``__init__`` by name; a class whose ``__init__`` does not take them all (derived fields,
        as ``MigrationFile``'s) overrides it."""
        return type(self)(**{**self._asdict(), **changes})

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Record) and other.__class__ is self.__class__:
            return self._values() == other._values()
        return NotImplemented

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields
                          if name not in self._hidden)
        return f"{self.__class__.__qualname__}({shown})"


class FrozenRecord(Record):
    """A ``Record`` that cannot change after ``__init__`` (which sets the fields with
    ``_assign``): hashable, and setting or deleting any attribute raises AttributeError.
    Pickling and ``copy`` work as for a frozen dataclass."""

    __slots__ = ()

    def _assign(self, *values: Any) -> None:
        """Set every field, in ``_fields`` order (for ``__init__`` and unpickling)."""
        for name, value in zip(self._fields, values, strict=True):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}")

    def __hash__(self) -> int:
        return hash(self._values())

    def __getstate__(self) -> tuple[Any, ...]:
        return self._values()

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        self._assign(*state)
