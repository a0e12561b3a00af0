"""The dependency rules docs/architecture.md states, checked on every import in the package (module-level and
inside functions alike), so a new import that breaks one fails here with the module that made it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "visual_med_alpaca"


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """module -> the package modules it imports (`from a import b` counts as a and a.b: b may be a module)."""
    found: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = _module(path)
        here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:  # relative: level 1 is this package, 2 its parent, ...
                    base = ".".join(here[:len(here) - node.level + 1] + ([node.module] if node.module else []))
                else:
                    base = node.module or ""
                targets |= {base} | {f"{base}.{alias.name}" for alias in node.names}
            elif isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names}
        found[name] = {t for t in targets if t.startswith("visual_med_alpaca")}
    return found


IMPORTS = _imports()


def _is_commands(module: str) -> bool:
    return module.rsplit(".", 1)[-1].endswith("commands")


def _offenders(importers, imported) -> list[str]:
    return sorted(f"{m} -> {t}" for m, targets in IMPORTS.items() if importers(m) for t in targets if imported(t))


def test_the_walk_sees_imports_inside_functions_too():
    assert "visual_med_alpaca.data.sources.vqa_rad.vqa_rad_train_split" in IMPORTS["visual_med_alpaca.vlm.data"]


def test_library_modules_never_import_the_cli_or_a_commands_module():
    cli = {"visual_med_alpaca.cli"}
    assert _offenders(lambda m: m not in cli, lambda t: t == "visual_med_alpaca.cli") == []
    assert _offenders(lambda m: m not in cli and not _is_commands(m),
                      lambda t: t == "visual_med_alpaca.cli_options" or _is_commands(t)) == []


def test_lower_packages_never_import_the_ones_built_on_them():
    def inside(*packages):
        return lambda m: any(m == f"visual_med_alpaca.{p}" or m.startswith(f"visual_med_alpaca.{p}.")
                             for p in packages)

    def library(*packages):
        return lambda m: inside(*packages)(m) and not _is_commands(m)

    # train/ trains what router/, experts/ and data/ ship: they never import it (a commands.py may, to run it)
    assert _offenders(library("router", "experts", "data"), inside("train")) == []
    # data/ and the VLM's training data sit below the evaluation (VQA splits come from data/sources)
    assert _offenders(library("data", "vlm"), inside("eval")) == []
    # train/ never imports eval/, except the command that evaluates an adapter it trained
    assert _offenders(lambda m: library("train")(m) and m != "visual_med_alpaca.train.adapter_eval",
                      inside("eval")) == []
    # the chart table format depends on nothing of the package
    assert IMPORTS["visual_med_alpaca.chart_table"] == set()


def test_benchmark_loaders_read_no_file_themselves():
    """One reader per data source: eval/benchmarks/ words each benchmark's prompts and labels, and its files are read
    by the data set's reader in data/sources/ (which training reads too), never parsed here a second time."""
    parsers = {"json", "csv", "xml", "xml.etree", "xml.etree.ElementTree", "zipfile"}
    reading = {"open", "read_text", "read_bytes", "loads", "load", "parse", "iterparse", "xml_root", "read_jsonl",
               "jsonl_rows"}
    found = []
    for path in sorted((PACKAGE / "eval" / "benchmarks").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [alias.name for alias in node.names] + ([node.module] if getattr(node, "module", None) else [])
                found += [f"{path.name} imports {n}" for n in names if n in parsers or n in reading]
            elif isinstance(node, ast.Call):
                name = getattr(node.func, "attr", getattr(node.func, "id", ""))
                found += [f"{path.name} calls {name}"] if name in reading else []
    assert found == []


DOC = (PACKAGE.parent / "docs" / "architecture.md").read_text(encoding="utf-8")


def _top_level_names(path: Path) -> set[str]:
    names = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


def test_every_file_and_name_the_page_points_at_exists():
    """docs/architecture.md's `file.py:NAME` pointers (where to add an expert, a backend, ...) name real definitions;
    a short path (`retrieve.py`) is any package file that ends so."""
    pointers = re.findall(r"`((?:[\w/]+/)?\w+\.py):(\w+)", DOC)
    assert len(pointers) >= 10  # the pattern still reads the page
    stale = []
    for path, name in pointers:
        files = [p for p in PACKAGE.rglob(Path(path).name) if p.as_posix().endswith("/" + path)]
        if not any(name in _top_level_names(p) for p in files):
            stale.append(f"{path}:{name}")
    assert stale == []


def test_the_page_names_every_package_module_protocol_and_plugin():
    """A new package, top-level module, plug-in Protocol or registered plug-in shows up on the one-page map."""
    from visual_med_alpaca.experts.base import EXPERTS
    from visual_med_alpaca.knowledge.stores.base import STORES
    from visual_med_alpaca.llm.base import BACKENDS
    from visual_med_alpaca.router.base import ROUTERS

    missing = [f"`{p.name}/`" for p in sorted(PACKAGE.iterdir()) if (p / "__init__.py").exists()]
    missing += [f"`{p.name}`" for p in sorted(PACKAGE.glob("*.py")) if p.name != "__init__.py"]
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(getattr(b, "id", "") == "Protocol" for b in node.bases):
                missing.append(f"`{node.name}`")
    missing = [m for m in missing if m not in DOC]
    missing += [name for registry in (EXPERTS, ROUTERS, BACKENDS, STORES) for name in registry
                if not re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", DOC)]
    assert missing == []
