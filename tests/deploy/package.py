"""The file list of the deployment package, chosen the way Azure Functions Core Tools chooses it for
`func azure functionapp publish`.

Core Tools walks the project folder, always skips the folders `.git` and `.vscode` and the files `.funcignore`,
`.gitignore`, `local.settings.json` and `project.lock.json` (by name, at any depth), and drops every path that
`.funcignore` denies. Its `.funcignore` matcher (GitIgnoreParser, a port of the npm package gitignore-parser) is
NOT git's: each pattern becomes a regular expression anchored at the start of the path relative to the project and
matched as a prefix. So `tests/` drops everything under the top-level `tests`, but `__pycache__/` or `*.pyc` only
match at the top level (`**/__pycache__/` is needed for nested ones), `?` and `[...]` are literal characters, `*`
matches one or more characters within a segment, `**` one or more characters of any kind, and a `!pattern` anywhere
in the file re-admits what it matches. This module implements exactly that, so the test sees the package Azure gets.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

ALWAYS_SKIPPED_DIRS = {".git", ".vscode"}
ALWAYS_SKIPPED_FILES = {".funcignore", ".gitignore", "local.settings.json", "project.lock.json"}
_SPECIAL = re.compile(r"[\-\[\]/{}()+?.\\^$|]")


def _pattern_regex(pattern: str) -> str:
    escaped = _SPECIAL.sub(lambda match: "\\" + match.group(0), pattern)
    return escaped.replace("**", "(.+)").replace("*", "([^/]+)")


class FuncIgnore:
    """`.funcignore` with Core Tools' semantics: accepts(path) is True when the file goes into the package."""

    def __init__(self, text: str):
        positive, negative = [], []
        for line in text.split("\n"):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            bucket = positive
            if line.startswith("!"):
                bucket, line = negative, line[1:]
            if line.startswith("/"):
                line = line[1:]
            bucket.append(line)
        self.has_negations = bool(negative)
        self._positive = self._compile(positive)
        self._negative = self._compile(negative)

    @staticmethod
    def _compile(patterns: list[str]) -> re.Pattern | None:
        if not patterns:
            return None
        return re.compile("^((" + ")|(".join(_pattern_regex(p) for p in sorted(patterns)) + "))")

    def accepts(self, relative_path: str) -> bool:
        if self._negative is not None and self._negative.match(relative_path):
            return True
        return self._positive is None or not self._positive.match(relative_path)

    def denies_whole_folder(self, relative_dir: str) -> bool:
        """True when no file under the folder can be accepted (a prefix match on 'dir/' covers all of them)."""
        return not self.has_negations and not self.accepts(relative_dir.rstrip("/") + "/")


def read_funcignore(root: Path) -> FuncIgnore:
    path = root / ".funcignore"
    return FuncIgnore(path.read_text(encoding="utf-8") if path.exists() else "")


def _skipped_by_core_tools(relative_path: str) -> bool:
    parts = relative_path.split("/")
    return parts[-1].lower() in ALWAYS_SKIPPED_FILES or any(p.lower() in ALWAYS_SKIPPED_DIRS for p in parts[:-1])


def walk_files(root: Path, funcignore: FuncIgnore) -> list[str]:
    """What Core Tools would package from this working tree as it is on disk (local state included)."""
    found = []
    for folder, dirs, files in os.walk(root):
        relative_folder = os.path.relpath(folder, root).replace(os.sep, "/")
        prefix = "" if relative_folder == "." else relative_folder + "/"
        dirs[:] = sorted(d for d in dirs if d.lower() not in ALWAYS_SKIPPED_DIRS
                         and not funcignore.denies_whole_folder(prefix + d))
        for name in sorted(files):
            relative = prefix + name
            if not _skipped_by_core_tools(relative) and funcignore.accepts(relative):
                found.append(relative)
    return found


def repository_files(root: Path) -> list[str] | None:
    """Tracked files plus untracked files git does not ignore: what a fresh checkout (CI, the deploy job) holds,
    including files not committed yet. None when git or the repository is not available."""
    if shutil.which("git") is None or not (root / ".git").exists():
        return None
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root,
                            capture_output=True, check=True, timeout=60).stdout.decode("utf-8")
    return sorted({path for path in listed.split("\0") if path and (root / path).is_file()})


def package_files(root: Path) -> list[str]:
    """The deployment package of a fresh checkout of this repository."""
    funcignore = read_funcignore(root)
    candidates = repository_files(root)
    if candidates is None:
        return walk_files(root, funcignore)
    return [path for path in candidates if not _skipped_by_core_tools(path) and funcignore.accepts(path)]


def build_package(root: Path, destination: Path) -> list[str]:
    files = package_files(root)
    for relative in files:
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / relative, target)
    return files


def requirement_modules(requirements_txt: Path) -> list[str]:
    """Top-level module names provided by the distributions requirements.txt installs, with their dependencies
    (as installed in this environment, markers evaluated here): what the function app can import in Azure."""
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pending: list[tuple[str, frozenset[str]]] = []
    for line in requirements_txt.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            requirement = Requirement(line)
            pending.append((requirement.name, frozenset(requirement.extras)))
    seen: set[tuple[str, frozenset[str]]] = set()
    modules: set[str] = set()
    while pending:
        name, extras = pending.pop()
        key = (canonicalize_name(name), extras)
        if key in seen:
            continue
        seen.add(key)
        try:
            distribution = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # not installed here (a marker excluded it when it was installed)
        modules |= _top_level_modules(distribution)
        for text in distribution.requires or []:
            requirement = Requirement(text)
            environments = [{"extra": extra} for extra in extras] or [{"extra": ""}]
            if requirement.marker is None or any(requirement.marker.evaluate(env) for env in environments):
                pending.append((requirement.name, frozenset(requirement.extras)))
    return sorted(modules)


def _top_level_modules(distribution) -> set[str]:
    names = set()
    for file in distribution.files or []:
        parts = file.parts
        if not parts or parts[0] == ".." or parts[0].endswith((".dist-info", ".data", ".egg-info")):
            continue
        if len(parts) > 1:
            names.add(parts[0])
        elif parts[0].endswith(".py"):
            names.add(parts[0][:-3])
        elif parts[0].endswith((".so", ".pyd")):
            names.add(parts[0].split(".", 1)[0])
    names.discard("__pycache__")
    return names
