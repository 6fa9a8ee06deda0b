"""The public face of scenarios.data is exactly this list, and nothing else leaks out.

(Test files here carry a ``data_`` prefix: the test folders have no ``__init__.py``, so
basenames must be unique across them.)
"""

from __future__ import annotations

import ast
from pathlib import Path

from scenarios import data

EXPECTED = [
    "BUILTIN_NAMES",
    "FORMATS",
    "MAX_DENSE_CELLS",
    "MAX_INFERRED_CLASSES",
    "NPZ_FEATURES",
    "NPZ_LABELS",
    "SUFFIXES",
    "TASKS",
    "ClassValue",
    "Dataset",
    "Partition",
    "Standardizer",
    "Task",
    "by_column",
    "dirichlet",
    "from_arrays",
    "iid",
    "label_histograms",
    "label_skew",
    "load_builtin",
    "load_column",
    "load_dataset",
    "load_npy",
    "load_npz",
    "load_svmlight",
    "load_table",
    "quantity_skew",
    "train_test_split",
]

ALLOWED_IMPORTS = {"numpy", "sklearn", "scipy", "__future__"}


def test_all_is_the_expected_list() -> None:
    assert sorted(data.__all__) == sorted(EXPECTED)


def test_every_exported_name_exists_and_no_public_name_is_left_out() -> None:
    for name in data.__all__:
        assert hasattr(data, name)
    public = {
        name
        for name, value in vars(data).items()
        if not name.startswith("_") and not isinstance(value, type(data))
    }
    assert public == set(data.__all__)


def test_modules_import_only_numpy_sklearn_scipy_stdlib_and_scenarios_errors() -> None:
    import sys

    folder = Path(data.__file__).parent
    for module in sorted(folder.glob("*.py")):
        tree = ast.parse(module.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level:
                target = node.module or ""
                if node.level == 2:
                    assert target == "_errors", (module.name, target)
                else:
                    assert node.level == 1, (module.name, target)
            elif isinstance(node, ast.ImportFrom | ast.Import):
                names = (
                    [node.module]
                    if isinstance(node, ast.ImportFrom)
                    else [a.name for a in node.names]
                )
                for name in names:
                    top = (name or "").split(".")[0]
                    assert top in ALLOWED_IMPORTS or top in sys.stdlib_module_names, (
                        module.name,
                        name,
                    )


def test_modules_stay_small() -> None:
    folder = Path(data.__file__).parent
    for module in folder.glob("*.py"):
        assert len(module.read_text(encoding="utf-8").splitlines()) <= 500, module.name
