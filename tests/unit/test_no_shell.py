"""No shell anywhere: ffmpeg and ffprobe are started with an argument list, by one module.

A shell would read a file name such as `a;b.mkv` or `$(x).mkv` as a command. The
argument lists the engines build are covered by their own tests; this holds the rule for
every module of the package, including ones written later."""

from __future__ import annotations

import ast
from pathlib import Path

import playout

PACKAGE = Path(playout.__file__).parent
# The one module that starts processes (see its docstring).
STARTER = PACKAGE / "media" / "process.py"
SHELLS = {
    "os.system", "os.popen", "subprocess.getoutput", "subprocess.getstatusoutput",
    "asyncio.create_subprocess_shell", "pty.spawn",
}  # fmt: skip
STARTS = {
    "subprocess.run", "subprocess.Popen", "subprocess.call", "subprocess.check_call",
    "subprocess.check_output", "asyncio.create_subprocess_exec",
}  # fmt: skip


def _calls(path: Path) -> list[tuple[str, ast.Call]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call):
            name = ast.unparse(node.func)
            found.append((name, node))
    return found


def _modules() -> list[Path]:
    modules = sorted(PACKAGE.rglob("*.py"))
    assert STARTER in modules and len(modules) > 30
    return modules


def test_no_module_calls_a_shell() -> None:
    for path in _modules():
        for name, call in _calls(path):
            where = f"{path.relative_to(PACKAGE)}:{call.lineno}"
            assert name not in SHELLS, f"{where} runs a shell ({name})"
            assert not name.startswith(("os.exec", "os.spawn", "os.posix_spawn")), where
            for keyword in call.keywords:
                assert not (
                    keyword.arg == "shell"
                    and not (
                        isinstance(keyword.value, ast.Constant) and keyword.value.value is False
                    )
                ), f"{where} passes shell={ast.unparse(keyword.value)}"


def test_only_the_process_module_starts_processes() -> None:
    starters = {
        str(path.relative_to(PACKAGE))
        for path in _modules()
        for name, _ in _calls(path)
        if name in STARTS or name.endswith(".create_subprocess_exec")
    }
    assert starters == {"media/process.py"}
