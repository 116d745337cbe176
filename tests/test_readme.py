"""The README's set-up commands stay true: CI runs exactly the README's test command."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]


def readme_commands():
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```(?:bash|sh)?\n(.*?)```", text, flags=re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def test_readme_test_command_is_what_ci_runs():
    tests = [c for c in readme_commands() if "pytest" in c]
    assert tests, "README.md shows no test command"
    readme_test = tests[0]
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    ci_cmd = [line.strip() for line in ci if "pytest" in line and not line.lstrip().startswith("#")]
    assert ci_cmd, ".ci/run runs no pytest command"
    # README's command creates the venv first; CI does that step itself.
    assert readme_test.endswith(ci_cmd[-1]), (readme_test, ci_cmd[-1])


def test_readme_has_main_job_command():
    assert any(re.search(r"\bneurosym (demo|fit)\b", c) for c in readme_commands())
