"""What only the SQLite store does: deleting expired documents for good, and the session token form."""
import time

import pytest

from shared.adapters.sqlite_store import check_session_token
from shared.domain.errors import ValidationError
from shared.domain.ports import TRAINING_RUNS


def test_expired_documents_are_deleted_when_a_batch_is_written(sqlite_store):
    sqlite_store.upsert(TRAINING_RUNS, {"id": "old", "ttl": 1})
    time.sleep(2.1)
    sqlite_store.upsert_many(TRAINING_RUNS, [{"id": "new"}])
    rows = sqlite_store._conn().execute("SELECT id FROM documents WHERE container = ?", (TRAINING_RUNS,)).fetchall()
    assert rows == [("new",)]


def test_session_tokens_are_checked_for_form():
    check_session_token(None)
    check_session_token("sqlite:42")
    for bad in ("0:-1#12", "sqlite:", "sqlite:x1", ""):
        with pytest.raises(ValidationError):
            check_session_token(bad)
