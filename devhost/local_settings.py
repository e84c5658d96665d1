"""`local.settings.json` support: its Values become environment variables, as `func start` does."""
from __future__ import annotations

import json
import os


def load_local_settings(path: str = "local.settings.json") -> bool:
    """Put the file's Values into os.environ without overriding what the environment already sets."""
    if not os.path.exists(path):
        return False
    with open(path, encoding="utf-8") as handle:
        values = json.load(handle).get("Values", {})
    for key, value in values.items():
        os.environ.setdefault(key, str(value))
    return True
