"""The code itself: the package layers point down (import-linter contracts in
pyproject.toml) and the Python linter (ruff) passes; each check is shown able to fail."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["isa", "hdl", "golden", "compiler", "sim", "verification", "commands"]
BIN = Path(sys.executable).parent


def lint_imports(root):
    """Run import-linter on the checkout at ``root`` (its packages first on the path)."""
    return subprocess.run([str(BIN / "lint-imports"), "--no-cache"], cwd=root,
                          capture_output=True, text=True, env={"PYTHONPATH": str(root),
                                                               "PATH": str(BIN)})


def copy_checkout(target):
    for package in PACKAGES:
        shutil.copytree(ROOT / package, target / package,
                        ignore=shutil.ignore_patterns("__pycache__", "data"))
    shutil.copy(ROOT / "pyproject.toml", target / "pyproject.toml")


def test_package_layers_point_down():
    run = lint_imports(ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


def test_an_import_that_climbs_up_breaks_the_layers(tmp_path):
    """An import inside a function counts as much as one at the top: the compiler may not
    reach the verification layer, even lazily."""
    copy_checkout(tmp_path)
    program = tmp_path / "compiler" / "program.py"
    program.write_text(program.read_text() + "\n\ndef _climb():\n"
                       "    from verification import reference\n    return reference\n")
    run = lint_imports(tmp_path)
    assert run.returncode != 0
    assert "compiler.program -> verification.reference" in run.stdout


def test_ruff_passes():
    run = subprocess.run([str(BIN / "ruff"), "check", "--no-cache", "."], cwd=ROOT,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_ruff_fails_on_an_unused_import(tmp_path):
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "example.py").write_text("import os\n")
    run = subprocess.run([str(BIN / "ruff"), "check", "--no-cache", "."], cwd=tmp_path,
                         capture_output=True, text=True)
    assert run.returncode == 1 and "F401" in run.stdout
