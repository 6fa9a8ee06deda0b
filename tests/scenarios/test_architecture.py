"""The import-linter contracts of pyproject.toml hold: the direction between the four
packages, the layers of scenarios' sub-packages, no cycles, no private imports."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_import_contracts_are_kept() -> None:
    linter = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    # import-linter is in the test extra: missing, it is a broken install, not a reason to skip
    assert linter is not None, "lint-imports is missing: pip install -e '.[test]'"
    result = subprocess.run(
        [linter, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
