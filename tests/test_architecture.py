"""The README's map of the package stays true: every module is named in its architecture
section, and the package's modules depend on each other one way only: no import cycle, neither
at import time nor through imports inside functions (a function-level import that closes a
cycle only hides it). Imports deferred into functions for start-up time are fine as long as
their edge goes one way; ``if TYPE_CHECKING:`` imports (annotations only) are not counted."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "provider" / "pulumi_migrations_provider"
README = Path(__file__).resolve().parents[1] / "README.md"


def _modules() -> dict[str, Path]:
    """Dotted names relative to the package ("engine", "lint.parsed") -> file."""
    out = {}
    for p in sorted(PACKAGE.rglob("*.py")):
        parts = p.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def _section() -> str:
    text = README.read_text()
    start = text.index("### Architecture: where things live")
    end = text.find("\n#", start + 10)
    return text[start:end if end != -1 else len(text)]


def test_every_module_is_on_the_readme_map() -> None:
    named = set()
    for span in re.findall(r"`([^`]+)`", _section()):
        named.update(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", span))
    missing = [m for m in _modules() if m and m.split(".")[-1] not in named]
    assert missing == [], f"modules the README's architecture section does not name: {missing}"


def _imports(name: str, path: Path, modules: set[str], *, in_functions: bool = True) -> set[str]:
    """The package's modules ``name`` imports: at module level (and in class bodies and
    module-level if/try blocks) and, with ``in_functions``, inside functions and methods;
    never those in ``if TYPE_CHECKING:`` blocks."""
    is_pkg = path.name == "__init__.py"
    here = name.split(".") if is_pkg else name.split(".")[:-1]
    found: set[str] = set()

    def target(node: ast.ImportFrom) -> list[str]:
        if node.level == 0:
            mod = node.module or ""
            if not mod.startswith("pulumi_migrations_provider"):
                return []
            base = mod.split(".")[1:]
        else:
            base = (here[:len(here) - (node.level - 1)] if node.level > 1 else here) + \
                (node.module.split(".") if node.module else [])
        subs = [".".join(base + [a.name]) for a in node.names if ".".join(base + [a.name]) in modules]
        mod = ".".join(base)
        return subs + ([mod] if mod in modules and len(subs) < len(node.names) else [])

    def visit(body: list[ast.stmt]) -> None:
        for n in body:
            if isinstance(n, ast.If) and isinstance(n.test, ast.Name) and n.test.id == "TYPE_CHECKING":
                visit(n.orelse)
                continue
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and not in_functions:
                continue
            if isinstance(n, ast.ImportFrom):
                found.update(target(n))
            elif isinstance(n, ast.Import):
                for a in n.names:
                    if a.name.startswith("pulumi_migrations_provider."):
                        found.add(a.name.split(".", 1)[1])
            for block in ("body", "orelse", "finalbody"):
                sub = getattr(n, block, None)
                if isinstance(sub, list) and sub and isinstance(sub[0], ast.stmt):
                    visit(sub)
            for h in getattr(n, "handlers", []) or []:
                visit(h.body)
            for case in getattr(n, "cases", []) or []:
                visit(case.body)

    visit(ast.parse(path.read_text()).body)
    found.discard(name)
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle a depth-first walk of ``graph`` meets (empty: the graph is acyclic)."""
    cycles = []

    def walk(m: str, stack: list[str], done: set[str]) -> None:
        for n in sorted(graph[m]):
            if n in stack:
                cycles.append(stack[stack.index(n):] + [n])
            elif n not in done:
                walk(n, stack + [n], done)
        done.add(m)

    done: set[str] = set()
    for m in sorted(graph):
        if m not in done:
            walk(m, [m], done)
    return cycles


def test_no_import_cycles() -> None:
    modules = _modules()
    graph = {m: _imports(m, p, set(modules)) for m, p in modules.items()}
    assert _cycles(graph) == [], "modules importing each other (at import time or inside functions)"


def test_the_cycle_check_sees_a_cycle(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("from . import b\n")
    (tmp_path / "b.py").write_text("from .a import x\nif TYPE_CHECKING:\n    from . import c\n")
    names = {"a", "b", "c"}
    assert _imports("a", tmp_path / "a.py", names) == {"b"}
    assert _imports("b", tmp_path / "b.py", names) == {"a"}
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b", "a"]]


def test_the_cycle_check_sees_a_cycle_through_functions(tmp_path: Path) -> None:
    """``cli`` importing ``cli_lint`` at start-up and ``cli_lint`` reaching back for a helper
    inside a function: a cycle, although importing either module works."""
    (tmp_path / "cli.py").write_text("from . import cli_lint\n")
    (tmp_path / "cli_lint.py").write_text(
        "class C:\n    def run(self):\n        try:\n            from .cli import _load\n"
        "        except ImportError:\n            pass\n")
    (tmp_path / "lazy.py").write_text("def f():\n    from . import cli\n")
    names = {"cli", "cli_lint", "lazy"}
    graph = {n: _imports(n, tmp_path / f"{n}.py", names) for n in names}
    assert graph == {"cli": {"cli_lint"}, "cli_lint": {"cli"}, "lazy": {"cli"}}
    assert _imports("cli_lint", tmp_path / "cli_lint.py", names, in_functions=False) == set()
    assert _cycles(graph) == [["cli", "cli_lint", "cli"]]
    del graph["cli_lint"], graph["cli"]  # a lazy import whose edge goes one way is fine
    assert _cycles({**graph, "cli": set()}) == []
