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
        return [doc["modelVersion"] for doc in self._manifests()]

    def _manifests(self) -> list[dict]:
        """Every version's manifest: a query across partitions, run on activation only, never per request."""
        query = Query(filters=(Filter("type", "=", "manifest"),), order_by="modelVersion")
        return list(self._store.scan(MODELS, query))

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
        """Give every version not in `keep` (and older than the newest kept) a TTL, so it expires. Each of its
        documents gets a patch of `ttl` (the manifest names them all), never a re-upload of a shard; the
        manifest is patched last, so a retirement cut short is finished by the next one."""
        newest_kept = max((version for version in keep if version), default=None)
        retired = []
        for manifest in self._manifests():
            version = manifest["modelVersion"]
            if version in keep or (newest_kept and version > newest_kept):
                continue  # newer versions may be a run that is about to be activated
            if manifest.get("ttl") != self._retire_ttl:
                for doc_id in _document_ids(manifest):
                    try:
                        self._store.patch(MODELS, doc_id, version, set_fields={"ttl": self._retire_ttl})
                    except NotFoundError:
                        continue  # never written (a shard count of 0), or expired already
            retired.append(version)
        return retired

    def stored_versions(self) -> list[dict]:
        """Every stored model, newest first, as the operator sees it (the one cross-partition query of the
        manifests: an operator's page, never a shopper's request)."""
        active = self.active_version()
        return [{"modelVersion": manifest["modelVersion"], "createdAt": manifest.get("createdAt"),
                 "trainer": manifest.get("trainer"), "counts": manifest.get("counts"),
                 "metrics": manifest.get("metrics"), "active": manifest["modelVersion"] == active,
                 "retiring": manifest.get("ttl") is not None}
                for manifest in reversed(self._manifests())]

def _document_ids(manifest: dict) -> list[str]:
    shards = manifest["shards"]
    return ([model_docs.shard_id("products", index) for index in range(shards["products"])] +
            [model_docs.shard_id("similar", index) for index in range(shards["similar"])] +
            [model_docs.shard_id("boughtTogether", index) for index in range(shards.get("boughtTogether", 0))] +
            [model_docs.POPULARITY_ID, model_docs.MANIFEST_ID])
