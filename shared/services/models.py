"""The model registry over the `models` container: which version is active, activation by flipping one
pointer document, and retiring old versions (Cosmos TTL; the SQLite store honours `ttl` the same way)."""
from __future__ import annotations

from datetime import datetime, timezone

from shared.domain import model_docs
from shared.domain.errors import ConflictError, NotFoundError, PreconditionFailedError, ValidationError
from shared.domain.ports import ETAG, MODELS, DocumentStore, Filter, Query
from shared.domain.validation import format_timestamp


MAX_ZERO_VECTOR_SHARE = 0.5   # products with no usable interaction (e.g. bought by everyone) get zero vectors


class ModelRegistry:
    def __init__(self, store: DocumentStore, retire_ttl_seconds: int = 3600):
        self._store = store
        self._retire_ttl = retire_ttl_seconds

    def pointer(self) -> dict | None:
        try:
            return self._store.read(MODELS, model_docs.ACTIVE_POINTER_ID, model_docs.ACTIVE_POINTER_ID)
        except NotFoundError:
            return None

    def active_version(self) -> str | None:
        pointer = self.pointer()
        return pointer["activeVersion"] if pointer else None

    def manifest(self, version: str) -> dict:
        return self._store.read(MODELS, model_docs.MANIFEST_ID, version)

    def has_manifest(self, version: str) -> bool:
        try:
            self.manifest(version)
            return True
        except NotFoundError:
            return False

    def versions(self) -> list[str]:
        query = Query(filters=(Filter("type", "=", "manifest"),), order_by="modelVersion")
        return [doc["modelVersion"] for doc in self._store.scan(MODELS, query)]

    def activate(self, version: str) -> dict:
        """Make `version` the active model: check its manifest, then replace the pointer (etag-guarded, so two
        activations racing cannot interleave). Readers see the old model or the new one, never a mix."""
        try:
            manifest = self.manifest(version)
        except NotFoundError:
            raise NotFoundError(f"model {version} has no manifest (not trained, or not finished)") from None
        try:
            model_docs.validate(manifest)
        except ValueError as error:
            raise ValidationError(f"model {version} has an invalid manifest: {error}") from None
        self._check_vectors(version, manifest)
        current = self.pointer()
        previous = current["activeVersion"] if current else None
        if previous == version:
            return current
        doc = model_docs.pointer_doc(version, previous, format_timestamp(datetime.now(timezone.utc)))
        try:
            if current is None:
                written = self._store.create(MODELS, doc)
            else:
                written = self._store.replace(MODELS, doc, if_match=current[ETAG])
        except (ConflictError, PreconditionFailedError):
            raise ConflictError("another activation changed the active model at the same time; retry") from None
        self.retire_old(keep={version, previous})
        return written.document

    def _check_vectors(self, version: str, manifest: dict) -> None:
        """Never activate a model serving cannot use: every product shard present and valid (finite vectors),
        and not mostly empty vectors (scores of 0 for everyone would be served as "personalized")."""
        factors = int(manifest["params"]["factors"])
        shards = [doc for doc in self._store.scan(MODELS, Query(partition_key=version))
                  if doc.get("type") == "productShard"]
        if len(shards) != manifest["shards"]["products"]:
            raise ValidationError(f"model {version} has {len(shards)} of {manifest['shards']['products']} "
                                  "product shards")
        zero = total = 0
        for doc in shards:
            try:
                model_docs.validate(doc, factors)
                vectors = model_docs.decode_vectors(doc["vectors"], factors)
            except (ValueError, TypeError) as error:
                raise ValidationError(f"model {version} has an invalid product shard: {error}") from None
            zero += int((~vectors.any(axis=1)).sum())
            total += len(vectors)
        if total == 0 or zero > MAX_ZERO_VECTOR_SHARE * total:
            raise ValidationError(f"model {version}: {zero} of {total} product vectors are all zero")

    def retire_old(self, keep: set[str | None]) -> list[str]:
        """Give every version not in `keep` (and older than the newest kept) a TTL, so it expires."""
        newest_kept = max((version for version in keep if version), default=None)
        retired = []
        for version in self.versions():
            if version in keep or (newest_kept and version > newest_kept):
                continue  # newer versions may be a run that is about to be activated
            for doc in self._store.scan(MODELS, Query(partition_key=version)):
                if doc.get("ttl") != self._retire_ttl:
                    self._store.upsert(MODELS, {**_without_system(doc), "ttl": self._retire_ttl})
            retired.append(version)
        return retired


def _without_system(doc: dict) -> dict:
    return {key: value for key, value in doc.items() if not key.startswith("_")}
