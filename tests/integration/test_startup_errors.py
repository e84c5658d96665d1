"""Start-up errors in one line (issue 13, point 5): `manage.py serve` with a bad setting or a store it cannot use
stops with one line that names the setting or the cause, and no traceback."""
import os
import shutil
import subprocess
import sys

import pytest

from tests.integration.localhost import ROOT


def mount_namespace() -> list[str] | None:
    """A command prefix that runs the child in a mount namespace of its own (root, or a user namespace), so it
    can mount a read-only or a tiny file system that nothing else sees; None where that is not allowed."""
    if not shutil.which("unshare"):
        return None
    for prefix in (["unshare", "-m"], ["unshare", "-rm"]):
        if subprocess.run([*prefix, "true"], capture_output=True).returncode == 0:
            return prefix
    return None


def serve(env: dict, prefix: str = "", preexec_fn=None) -> list[str]:
    """Run `manage.py serve --demo` (after the shell `prefix`); return its output lines. It must stop by itself."""
    command = f'{prefix}exec "{sys.executable}" manage.py serve --demo --port 1'
    namespace = mount_namespace() if prefix else []
    result = subprocess.run([*namespace, "sh", "-c", command], cwd=ROOT, env={**os.environ, **env}, text=True,
                            capture_output=True, timeout=300, preexec_fn=preexec_fn)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    return [line for line in output.splitlines() if line.strip()]


def the_one_line(lines: list[str]) -> str:
    errors = [line for line in lines if line.startswith(("configuration error:", "error:"))]
    assert len(errors) == 1 and lines[-1] == errors[0], lines
    return errors[0]


def test_a_bad_reconcile_schedule(tmp_path):
    line = the_one_line(serve({"SQLITE_PATH": str(tmp_path / "s.sqlite3"), "RECONCILE_SCHEDULE": "*/10 * * * *"}))
    assert "RECONCILE_SCHEDULE='*/10 * * * *'" in line and "six fields" in line


@pytest.mark.parametrize("where", ["under-a-file", "a-folder"])
def test_an_unwritable_sqlite_path(tmp_path, where):
    (tmp_path / "file").write_text("x")
    path = tmp_path / "file" / "store.sqlite3" if where == "under-a-file" else tmp_path
    line = the_one_line(serve({"SQLITE_PATH": str(path)}))
    assert f"SQLITE_PATH='{path}'" in line


def test_a_read_only_store(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    store = folder / "store.sqlite3"
    subprocess.run([sys.executable, "manage.py", "import-orders", "tests/data/online_retail_sample.csv",
                    "--no-progress"], cwd=ROOT, env={**os.environ, "SQLITE_PATH": str(store)}, check=True,
                   capture_output=True)
    if mount_namespace():
        lines = serve({"SQLITE_PATH": str(store)}, prefix=f"mount --bind -o ro '{folder}' '{folder}' && ")
    else:
        assert os.geteuid() != 0, "as root without mount namespaces a read-only file cannot be made here"
        os.chmod(store, 0o444)
        os.chmod(folder, 0o555)
        try:
            lines = serve({"SQLITE_PATH": str(store)})
        finally:
            os.chmod(folder, 0o755)
    line = the_one_line(lines)
    assert f"SQLITE_PATH='{store}'" in line and "read-only" in line


def test_a_full_disk(tmp_path):
    folder = tmp_path / "small"
    folder.mkdir()
    env = {"SQLITE_PATH": str(folder / "store.sqlite3")}
    if mount_namespace():
        # A 200 KB file system: the schema fits, the demo data does not.
        line = the_one_line(serve(env, prefix=f"mount -t tmpfs -o size=200k tmpfs '{folder}' && "))
        assert "disk is full" in line and str(folder) in line
    else:
        import resource

        def small_files():
            resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))

        line = the_one_line(serve(env, preexec_fn=small_files))
        assert str(folder) in line
