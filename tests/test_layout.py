"""The test suite's own layout: every test folder is a package (so test modules need no prefix
to keep their names unique), and no test module imports another one (shared code lives in
helper modules such as tests/_brokers.py or in conftest fixtures)."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def folders_without_init(root: Path) -> list[str]:
    folders = {path.parent for path in root.rglob("test_*.py")}
    return sorted(str(f.relative_to(root)) for f in folders if not (f / "__init__.py").is_file())


def imports_of_test_modules(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module is not None:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            if any(part.startswith("test_") for name in names for part in name.split(".")):
                found.append(f"{path.relative_to(root)}:{node.lineno}")
    return found


def test_every_test_folder_is_a_package() -> None:
    assert folders_without_init(TESTS) == []


def test_no_test_module_imports_another() -> None:
    assert imports_of_test_modules(TESTS) == []


def test_both_checks_can_fail(tmp_path: Path) -> None:
    (tmp_path / "__init__.py").write_text("")
    (tmp_path / "loose").mkdir()
    (tmp_path / "loose" / "test_a.py").write_text("from tests.other.test_b import thing\n")
    (tmp_path / "test_c.py").write_text("import tests.test_d\n")
    assert folders_without_init(tmp_path) == ["loose"]
    assert imports_of_test_modules(tmp_path) == ["loose/test_a.py:1", "test_c.py:1"]
