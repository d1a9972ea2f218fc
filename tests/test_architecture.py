"""The layout's rules: no import cycle in theory/, simulate/ independent of theory/, the
shared layer independent of both, and docs that name only files that exist."""
import ast
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("common", "simulate", "theory", "figures", "bench")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}


def _imports(name: str):
    """Project modules imported anywhere in module ``name`` (function bodies included)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # ``from pkg import sub`` imports the submodule when there is one
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base
                       for a in node.names]
        else:
            continue
        for t in targets:
            while t and t not in MODULES:                # ``import a.b.c`` -> deepest module
                t = t.rpartition(".")[0]
            if t:
                out.add(t)
    return out


def _cycles(names):
    """Strongly connected components with more than one module (Tarjan)."""
    graph = {n: sorted(_imports(n) & set(names)) for n in names}
    index, low, stack, on, comps, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph[v]:
                comps.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return comps


def test_the_import_walker_sees_relative_and_function_level_imports():
    assert "theory.gaussian.terms" in _imports("theory.gaussian.laws")       # from . import
    assert "theory.formula" in _imports("theory.gaussian.laws")              # from ..formula
    assert "theory.prediction" in _imports("theory.__main__")                # inside a function
    assert "theory" in _imports("simulate.__main__")                         # inside a function


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_cycle(package):
    names = [n for n in MODULES if n == package or n.startswith(package + ".")]
    assert _cycles(names) == []


def test_simulate_imports_theory_only_from_its_command_line():
    for name in MODULES:
        if name.startswith("simulate") and name != "simulate.__main__":
            bad = sorted(t for t in _imports(name) if t.split(".")[0] == "theory")
            assert not bad, f"{name} imports {bad}"


def test_theory_never_imports_simulate_and_common_imports_neither():
    for name in MODULES:
        top = name.split(".")[0]
        used = {t.split(".")[0] for t in _imports(name)}
        if top == "theory":
            assert "simulate" not in used and "figures" not in used, name
        if top == "common":
            assert used <= {"common"}, name


def _tracked_files():
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip("not a git checkout")
    return [ROOT / f for f in out.stdout.split()]


def test_no_tracked_file_names_an_outside_specification():
    word = "SP" + "EC"                                   # spelled apart: this file is tracked too
    pattern = re.compile(rf"\b{word}\b|{word}\.md")
    for path in _tracked_files():
        if path.suffix in {".png", ".pdf"} or not path.is_file():
            continue
        text = path.read_text(errors="replace")
        assert not pattern.search(text), f"{path.relative_to(ROOT)} names the old specification"


def _doc_paths(text):
    """Backticked things that look like project paths: a known top folder or a .md/.py file."""
    for token in re.findall(r"`([^`\s]+)`", text):
        token = token.rstrip(".,:;)")
        head = token.split("/")[0]
        if "/" in token and head in PACKAGES + ("docs", "tests", ".ci"):
            yield token
        elif re.fullmatch(r"[\w.-]+\.(md|py|cfg|toml)", token) and "/" not in token:
            yield token


def test_every_backticked_path_in_the_docs_exists():
    docs = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    missing = []
    for doc in docs:
        for token in _doc_paths(doc.read_text()):
            path = token.split("::")[0].split("#")[0]
            bare = path.rstrip("/")
            candidates = [ROOT / bare, doc.parent / bare]
            if "*" in bare:
                ok = any(ROOT.glob(bare))
            elif "/" not in bare:                        # a bare file name: anywhere tracked
                ok = any(ROOT.rglob(bare))
            else:
                ok = any(c.exists() for c in candidates)
            if not ok:
                missing.append(f"{doc.name}: {token}")
    assert not missing, "docs name paths that do not exist: " + ", ".join(missing)
