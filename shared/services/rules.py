"""Merchandising rules: stored as one document, cached per process, applied to every list at request time.

All rules live in one document of the `models` container (id and partition `rules`): the operator's GET is one
point read, and so is each refresh. A request never reads the store for rules while its process's copy is
younger than `refresh_seconds`; once older, the request that notices starts one background refresh and goes
on with the copy it has. Only a copy older than `max_stale_seconds` (an instance that was idle, or a refresher
that failed) is read again on the request itself, so no instance applies rules older than that. Writes are
etag-guarded read-modify-replace, so two operators editing at once never lose a rule."""
from __future__ import annotations

import logging
import threading
import time

from shared.domain import model_docs
from shared.domain.errors import ConflictError, NotFoundError, PreconditionFailedError, UnavailableError, \
    ValidationError
from shared.domain.ports import ETAG, MODELS, DocumentStore
from shared.domain.rules import MAX_RULES, Rule, parse_rule, rule_from_json

RULES_ID = "rules"
WRITE_ATTEMPTS = 5
log = logging.getLogger("rules")


class RuleBook:
    def __init__(self, store: DocumentStore, refresh_seconds: float = 2.0, max_stale_seconds: float | None = None):
        self._store = store
        self._refresh = refresh_seconds
        self._max_stale = max_stale_seconds if max_stale_seconds is not None else 2.5 * refresh_seconds
        self._rules: tuple[Rule, ...] = ()
        self._read_at = float("-inf")       # monotonic time of the read the cached copy came from
        self._lock = threading.Lock()
        self._refresher: threading.Thread | None = None

    # -- the operator API -------------------------------------------------------------------------------
    def list(self) -> list[dict]:
        return [rule.to_json() for rule in self._store_rules()[0]]

    def get(self, rule_id: str) -> dict:
        for rule in self._store_rules()[0]:
            if rule.id == rule_id:
                return rule.to_json()
        raise NotFoundError(f"rule {rule_id!r} does not exist")

    def put(self, rule_id: str, body: object) -> tuple[dict, bool]:
        """Create or replace a rule; returns (the rule, True when it is new)."""
        rule = parse_rule(rule_id, body)
        created = self._change(lambda rules: [*(old for old in rules if old.id != rule_id), rule],
                               lambda rules: all(old.id != rule_id for old in rules))
        return rule.to_json(), created

    def delete(self, rule_id: str) -> None:
        if not self._change(lambda rules: [old for old in rules if old.id != rule_id],
                            lambda rules: any(old.id == rule_id for old in rules), must_exist=True):
            raise NotFoundError(f"rule {rule_id!r} does not exist")

    def _change(self, edit, decide, must_exist: bool = False) -> bool:
        for _ in range(WRITE_ATTEMPTS):
            rules, doc = self._store_rules()
            answer = decide(rules)
            if must_exist and not answer:
                return False
            changed = sorted(edit(rules), key=lambda rule: rule.id)
            if len(changed) > MAX_RULES:
                raise ValidationError(f"at most {MAX_RULES} rules; delete one first", {"limit": MAX_RULES})
            body = {"id": RULES_ID, "modelVersion": RULES_ID, "type": "merchandisingRules",
                    "rules": [rule.to_json() for rule in changed]}
            try:
                model_docs.check_size(body)
            except ValueError:
                raise ValidationError("the rules would exceed the 2 MB of one document; use fewer products",
                                      {"limit": model_docs.MAX_DOCUMENT_BYTES}) from None
            try:
                if doc is None:
                    self._store.create(MODELS, body)
                else:
                    self._store.replace(MODELS, body, if_match=doc[ETAG])
            except (ConflictError, PreconditionFailedError):
                continue    # another writer was first: read again and redo the edit on their result
            self._set(tuple(changed), time.monotonic())
            return answer
        raise ConflictError("the rules were changed concurrently too often; retry")

    def _store_rules(self) -> tuple[tuple[Rule, ...], dict | None]:
        try:
            doc = self._store.read(MODELS, RULES_ID, RULES_ID)
        except NotFoundError:
            return (), None
        return tuple(rule_from_json(body) for body in doc["rules"]), doc

    # -- request time -----------------------------------------------------------------------------------
    def current(self) -> tuple[Rule, ...]:
        age = time.monotonic() - self._read_at
        if age >= self._max_stale:
            self._read_now()
        elif age >= self._refresh:
            self._start_refresh()
        return self._rules

    def refresh(self) -> None:
        started = time.monotonic()
        rules, _ = self._store_rules()
        self._set(rules, started)

    def wait_for_refresh(self, timeout: float | None = None) -> None:
        refresher = self._refresher
        if refresher is not None:
            refresher.join(timeout)

    def _set(self, rules: tuple[Rule, ...], read_at: float) -> None:
        with self._lock:
            if read_at >= self._read_at:   # an older read finishing late never replaces a newer copy
                self._rules, self._read_at = rules, read_at

    def _read_now(self) -> None:
        try:
            self.refresh()
        except Exception as error:  # noqa: BLE001 - decided below
            if self._read_at == float("-inf"):
                raise UnavailableError("the merchandising rules cannot be read", {"reason": str(error)},
                                       retry_after=self._refresh) from None
            log.warning("rules refresh failed; applying the copy read %.0f s ago",
                        time.monotonic() - self._read_at, exc_info=True)

    def _start_refresh(self) -> None:
        with self._lock:
            if self._refresher is not None and self._refresher.is_alive():
                return
            self._refresher = threading.Thread(target=self._refresh_quietly, name="rules-refresh", daemon=True)
            self._refresher.start()

    def _refresh_quietly(self) -> None:
        try:
            self.refresh()
        except Exception:  # noqa: BLE001 - the next request past the interval tries again
            log.warning("rules refresh failed; keeping the current copy", exc_info=True)
