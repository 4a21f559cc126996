"""The package keeps its layers: the import-linter contracts in pyproject.toml hold, and no
module imports itself back through any chain (``TYPE_CHECKING`` blocks and function-level
imports count: grimp reads every import statement).

The checks run on the installed tree, and on a copy with a deliberate leak and a deliberate
cycle, to show that they fail when they should (docs/architecture.md, "Rules").
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Runs in a child process against the ``thalovant`` found first on ``sys.path``: the
#: import-linter contracts of ``pyproject.toml``, then a search for import cycles.
CHECK = textwrap.dedent(
    """
    import sys
    import grimp
    from importlinter.api import read_configuration  # noqa: F401  (import-linter present)
    from importlinter.cli import lint_imports

    status = lint_imports(config_filename=sys.argv[1], no_cache=True)
    graph = grimp.build_graph("thalovant", include_external_packages=False)
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def imported(module):
        return iter(sorted(graph.find_modules_directly_imported_by(module)))

    def visit(node):
        work = [(node, imported(node))]
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        while work:
            current, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, imported(child)))
                elif child in on_stack:
                    low[current] = min(low[current], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[current])
            if low[current] == index[current]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == current:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    for component in cycles:
        print("IMPORT CYCLE:", " <-> ".join(component))
    sys.exit(1 if status or cycles else 0)
    """
)


def run_check(package_parent: Path) -> subprocess.CompletedProcess[str]:
    """Check the ``thalovant`` package under ``package_parent`` with the repo's contracts."""
    return subprocess.run(
        [sys.executable, "-c", CHECK, str(ROOT / "pyproject.toml")],
        cwd=package_parent,
        env={"PYTHONPATH": str(package_parent), "PATH": "", "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def copy_package(tmp_path: Path) -> Path:
    shutil.copytree(
        ROOT / "thalovant", tmp_path / "thalovant", ignore=shutil.ignore_patterns("__pycache__")
    )
    return tmp_path


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + "\n" + textwrap.dedent(text))


def test_the_package_keeps_its_layers_and_has_no_cycles() -> None:
    result = run_check(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_carrier_reaching_up_into_the_bus_is_caught(tmp_path: Path) -> None:
    tree = copy_package(tmp_path)
    append(
        tree / "thalovant/carriers/wss.py",
        """
        def _leak() -> None:
            from thalovant.bus import EventBus  # a carrier may not know the bus

            del EventBus
        """,
    )
    result = run_check(tree)
    assert result.returncode == 1
    assert "thalovant.carriers.wss -> thalovant.bus" in result.stdout


def test_a_type_checking_cycle_is_caught(tmp_path: Path) -> None:
    tree = copy_package(tmp_path)
    append(
        tree / "thalovant/protocol/framing.py",
        """
        from typing import TYPE_CHECKING

        if TYPE_CHECKING:
            from thalovant.protocol.channel import SecureChannel  # channel imports framing
        """,
    )
    result = run_check(tree)
    assert result.returncode == 1
    assert "IMPORT CYCLE:" in result.stdout
    assert "thalovant.protocol.channel" in result.stdout


@pytest.mark.parametrize("hub_module", ["thalovant/hub/servers/wss.py"])
def test_the_hub_importing_client_code_is_caught(tmp_path: Path, hub_module: str) -> None:
    tree = copy_package(tmp_path)
    append(tree / hub_module, "from thalovant.client import AsyncThalovantClient  # noqa\n")
    result = run_check(tree)
    assert result.returncode == 1
    assert "thalovant.client" in result.stdout
