"""The text ``pulumi preview --diff`` prints for one resource step, without colours.

A transcription of the engine's rendering (pulumi ``pkg/backend/display``), read with the search
tool, so tests can assert what a reviewer sees:

- ``diff.go`` ``renderDiff``: nothing for a ``same`` step; otherwise the summary lines
  (``getResourcePropertiesSummary``) and the details.
- ``object_diff.go`` ``getResourcePropertiesDetails`` at the resource-pre event (the new state
  has no outputs yet): a ``create`` prints the new inputs (``PrintObject``, no ``+`` on the
  property lines); an ``update`` prints ``printOldNewDiffs(old.Inputs, new.Inputs, include=nil)``
  — the Python dynamic-provider server sends neither ``diffs`` nor a detailed diff, so every
  property prints, changed ones marked ``+``/``-``/``~`` and the unchanged ones plain.
- ``resource.PropertyMap.Diff`` semantics: ``__`` keys ignored (``IsInternalPropertyKey``), null
  counts as absent, arrays compared by index, objects key by key.
- Layout: four spaces per level, the last two replaced by ``+ ``/``- ``/``~ `` on prefixed lines,
  keys sorted and padded to the longest key (``%-Ns: ``; for ``PrintObject`` the longest
  includes hidden keys such as ``__provider``), strings Go-quoted, integral numbers without a
  fraction, secrets ``[secret]``, unknowns ``[unknown]``, sames that are null/empty not printed.

Not transcribed (our resources never produce them): assets/archives, multi-line string diffs,
strings holding JSON or YAML (which the engine decodes), replacements and ``--show-sames``.
The resource is rendered as a child of the stack (indent 1), as in a real program.
"""

from __future__ import annotations

import json
from decimal import Decimal
from dataclasses import dataclass
from typing import Any, Callable, Generic, TypeVar

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # rpc.UNKNOWN, the wire form of an unknown
_RAW_PREFIX = {"same": "  ", "create": "+ ", "delete": "- ", "update": "~ "}
K = TypeVar("K", str, int)


@dataclass(frozen=True)
class Secret:
    """A secret value: printed ``[secret]``, compared by its element (``DeepEquals``)."""
    element: Any


@dataclass
class _Parts(Generic[K]):
    """What ``Diff`` found, by key (objects) or index (arrays)."""
    adds: dict[K, Any]
    deletes: dict[K, Any]
    sames: dict[K, Any]
    updates: dict[K, ValueDiff]

    def all_keys(self) -> set[K]:
        return {*self.adds, *self.deletes, *self.sames, *self.updates}


class ObjectDiff(_Parts[str]):
    def keys(self) -> list[str]:
        return sorted(self.all_keys())


class ArrayDiff(_Parts[int]):
    def length(self) -> int:
        return 1 + max(self.all_keys(), default=-1)


@dataclass
class ValueDiff:
    old: Any
    new: Any
    array: ArrayDiff | None = None
    object: ObjectDiff | None = None


def _internal(key: str) -> bool:
    return key.startswith("__")


def diff_objects(old: dict[str, Any], new: dict[str, Any]) -> ObjectDiff | None:
    """``PropertyMap.DiffWithOptions(IgnoreKeyFunc(IsInternalPropertyKey))``."""
    adds: dict[str, Any] = {}
    deletes: dict[str, Any] = {}
    sames: dict[str, Any] = {}
    updates: dict[str, ValueDiff] = {}
    for k, o in old.items():
        if _internal(k):
            continue
        if k in new:
            n = new[k]
            d = diff_values(o, n)
            if d is None:
                sames[k] = o
            elif o is None:
                adds[k] = n
            elif n is None:
                deletes[k] = o
            else:
                updates[k] = d
        elif o is not None:
            deletes[k] = o
    for k, n in new.items():
        if not _internal(k) and k not in old and n is not None:
            adds[k] = n
    if not adds and not deletes and not updates:
        return None
    return ObjectDiff(adds, deletes, sames, updates)


def diff_values(old: Any, new: Any) -> ValueDiff | None:
    """``PropertyValue.Diff``: arrays by index, objects by key, anything else by equality."""
    if isinstance(old, list) and isinstance(new, list):
        adds = {i: new[i] for i in range(len(old), len(new))}
        deletes = {i: old[i] for i in range(len(new), len(old))}
        sames: dict[int, Any] = {}
        updates: dict[int, ValueDiff] = {}
        for i in range(min(len(old), len(new))):
            d = diff_values(old[i], new[i])
            if d is None:
                sames[i] = old[i]
            else:
                updates[i] = d
        if not adds and not deletes and not updates:
            return None
        return ValueDiff(old, new, array=ArrayDiff(adds, deletes, sames, updates))
    if isinstance(old, dict) and isinstance(new, dict):
        d = diff_objects(old, new)
        return None if d is None else ValueDiff(old, new, object=d)
    if _equal(old, new):
        return None
    return ValueDiff(old, new)


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


def _is_primitive(v: Any) -> bool:
    return v is None or isinstance(v, (str, int, float, bool, Secret))


def _should_print(v: Any) -> bool:
    """``shouldPrintPropertyValue``: no nulls, empty strings, empty arrays or objects."""
    return not (v is None or v == "" or v == [] or v == {})


def _go_number(v: float) -> str:
    """``%.f`` for integral numbers, else Go's shortest ``%g`` (exponent form from 1e6 on or
    below 1e-4)."""
    if v.is_integer():
        return str(int(v))
    digits, exponent = (lambda t: ("".join(map(str, t.digits)), int(t.exponent)))(
        Decimal(repr(v)).normalize().as_tuple())
    exp = len(digits) + exponent - 1
    if -4 <= exp < 6:
        return repr(v)
    sign = "-" if v < 0 else ""
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{sign}{mantissa}e{'+' if exp >= 0 else '-'}{abs(exp):02d}"


def _go_quote(s: str) -> str:
    """``%q`` for the strings we print (JSON escaping matches Go's for them)."""
    return json.dumps(s, ensure_ascii=False)


class _Printer:
    """``propertyPrinter``: writes lines at an indent, with an op and an optional prefix."""

    def __init__(self, out: list[str], indent: int, op: str, prefix: bool) -> None:
        self.out, self.indent, self.op, self.prefix = out, indent, op, prefix

    def but(self, *, indent: int = 0, op: str | None = None,
            prefix: bool | None = None) -> _Printer:
        return _Printer(self.out, self.indent + indent, op or self.op,
                        self.prefix if prefix is None else prefix)

    def lead(self, prefix: bool | None = None) -> str:
        """``getIndentationString``."""
        spaces = "    " * self.indent
        if not (self.prefix if prefix is None else prefix):
            return spaces
        return spaces[:-2] + _RAW_PREFIX[self.op]

    def write(self, text: str) -> None:
        self.out.append(text)

    def title(self, name: str, align: int) -> None:
        self.write(f"{self.lead()}{name.ljust(align)}: ")

    # --- values ---------------------------------------------------------------------------

    def value(self, v: Any) -> None:
        self.value_recurse(v)
        self.write("\n")

    def value_recurse(self, v: Any) -> None:
        if _is_primitive(v) or v == UNKNOWN:
            self.primitive(v)
        elif isinstance(v, list):
            if not v:
                self.write("[]")
                return
            self.write("[\n")
            for i, elem in enumerate(v):
                self.write(f"{self.lead()}    [{i}]: ")
                self.but(indent=1).value(elem)
            self.write(f"{self.lead(False)}]")
        elif isinstance(v, dict):
            if not v:
                self.write("{}")
                return
            self.write("{\n")
            self.but(indent=1).object(v)
            self.write(f"{self.lead(False)}}}")
        else:
            raise TypeError(f"cannot render {type(v).__name__} values")

    def primitive(self, v: Any) -> None:
        if isinstance(v, Secret):
            self.write("[secret]")
        elif v == UNKNOWN:
            self.write("[unknown]")
        elif v is None:
            self.write("<null>")
        elif isinstance(v, bool):
            self.write("true" if v else "false")
        elif isinstance(v, (int, float)):
            self.write(_go_number(float(v)))
        else:
            self.write(_go_quote(v))

    def object(self, props: dict[str, Any]) -> None:
        """``printObject``: the longest key counts hidden keys too."""
        align = max((len(k) for k in props), default=0)
        for k in sorted(props):
            if not _internal(k):
                self.title(k, align)
                self.value(props[k])

    # --- diffs ----------------------------------------------------------------------------

    def object_diff(self, diff: ObjectDiff) -> None:
        keys = diff.keys()
        align = max((len(k) for k in keys), default=0)
        for k in keys:
            self.part(diff, k, _titled(k, align), _should_print)

    def part(self, parts: _Parts[K], key: K, title: Callable[[_Printer], None],
             print_same: Callable[[Any], bool] = lambda _: True) -> None:
        """One key of an object diff (``printObjectPropertyDiff``) or index of an array diff."""
        if key in parts.adds:
            self.but(op="create", prefix=True).added(parts.adds[key], title)
        elif key in parts.deletes:
            self.but(op="delete", prefix=True).added(parts.deletes[key], title)
        elif key in parts.updates:
            self.value_diff(title, parts.updates[key])
        elif key in parts.sames and print_same(parts.sames[key]):
            self.but(op="same", prefix=False).added(parts.sames[key], title)

    def added(self, v: Any, title: Callable[[_Printer], None]) -> None:
        """``printAdd``/``printDelete`` (the op and prefix are set by the caller)."""
        title(self)
        self.value(v)

    def value_diff(self, title: Callable[[_Printer], None], diff: ValueDiff) -> None:
        p = self.but(op="update", prefix=True)
        if diff.array is not None:
            title(p)
            p.write("[\n")
            a = diff.array
            for i in range(a.length()):
                elem = p.but(indent=2)

                def elem_title(q: _Printer, i: int = i) -> None:
                    q.write(f"{q.but(indent=-1).lead()}[{i}]: ")
                elem.part(a, i, elem_title)
            p.write(f"{p.lead(False)}]\n")
        elif diff.object is not None:
            title(p)
            p.write("{\n")
            p.but(indent=1).object_diff(diff.object)
            p.write(f"{p.lead(False)}}}\n")
        else:
            show_old, show_new = _should_print(diff.old), _should_print(diff.new)
            if show_old and show_new and _is_primitive(diff.old) and _is_primitive(diff.new):
                title(p)
                if isinstance(diff.old, str) and isinstance(diff.new, str):
                    if "\n" in diff.old or "\n" in diff.new:
                        raise NotImplementedError("multi-line string diffs are not transcribed")
                    p.write(f"{_go_quote(diff.old)} => {_go_quote(diff.new)}\n")
                    return
                p.primitive(diff.old)
                p.write(" => ")
                p.primitive(diff.new)
                p.write("\n")
                return
            if show_old:
                p.but(op="delete").added(diff.old, title)
            if show_new:
                p.but(op="create").added(diff.new, title)


def _titled(name: str, align: int) -> Callable[[_Printer], None]:
    return lambda p: p.title(name, align)


def render(op: str, type_: str, urn: str, id_: str | None, old_inputs: dict[str, Any] | None,
           new_inputs: dict[str, Any]) -> str:
    """What ``pulumi preview --diff`` prints for one step (``op``: create, update or same).

    Inputs are as the engine holds them: ``__provider`` included, secrets as ``Secret``,
    unknowns as the ``UNKNOWN`` sentinel."""
    if op == "same":
        return ""
    out: list[str] = []
    top = _Printer(out, 1, op, False)
    out.append(f"{top.lead()}{_RAW_PREFIX[op]}{type_}: ({op})\n")
    meta = top.but(indent=1, op="same")
    if id_:
        out.append(f"{meta.lead()}[id={id_}]\n")
    out.append(f"{meta.lead()}[urn={urn}]\n")
    details = _Printer(out, 2, op, False)
    if op == "create" or old_inputs is None:
        details.object(new_inputs)
    elif op == "update":
        diff = diff_objects(old_inputs, new_inputs)
        if diff is None:
            details.but(op="same", prefix=True).object(new_inputs)
        else:
            details.but(prefix=True).object_diff(diff)
    else:
        raise NotImplementedError(f"rendering a {op} step is not transcribed")
    return "".join(out)
