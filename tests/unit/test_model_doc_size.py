"""Model documents stay under Cosmos DB's 2 MB item limit for every parameter the API accepts: shards are sized
by bytes (ids up to the 128-character maximum, any characters the order API accepts), similar_k and popular_k
are bounded, and the schema module refuses any document over the limit."""
from __future__ import annotations

import json

import numpy as np
import pytest

from shared.domain import model_docs
from shared.domain.errors import ValidationError
from shared.domain.training_params import MAX_POPULAR_K, MAX_SIMILAR_K, TrainingParams
from shared.domain.validation import MAX_ID_LENGTH, check_id

VERSION = "20240101T120000Z-ab12cd34"
FACTORS = 512


def long_id(number: int, filler: str = "x") -> str:
    """A valid product id of exactly the maximum length; `filler` chooses how many bytes each character costs."""
    head = f"p{number:06d}-"
    return check_id(head + filler * (MAX_ID_LENGTH - len(head)), "productId")


def worst_ids(count: int) -> list[str]:
    # ASCII (1 byte), Latin-1 (6 bytes escaped: \u00e9) and astral characters (12 bytes: a surrogate pair).
    fillers = ("x", "\u00e9", "\U0001f600")
    return [long_id(n, fillers[n % 3]) for n in range(count)]


def wire_size(doc: dict) -> int:
    """What Cosmos DB counts: the UTF-8 length of the JSON (here the larger, escaped form the SDK can send)."""
    return max(len(json.dumps(doc, separators=(",", ":")).encode()),
               len(json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()))


def test_product_shards_at_512_factors_with_the_longest_ids_stay_under_the_limit():
    ids = worst_ids(2500)
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(len(ids), FACTORS)).astype(np.float32)
    idf = rng.random(len(ids)) * 10
    shards = list(model_docs.product_shards(VERSION, ids, vectors, idf))
    assert len(shards) > 3
    for shard in shards:
        assert wire_size(shard) <= model_docs.SHARD_TARGET_BYTES
        model_docs.validate(shard, FACTORS)
    # Nothing lost or reordered: the shards are consecutive runs of the input.
    assert [shard["start"] for shard in shards] == [0] + list(np.cumsum([len(s["productIds"]) for s in shards])[:-1])
    assert [pid for shard in shards for pid in shard["productIds"]] == ids
    decoded = np.vstack([model_docs.decode_vectors(shard["vectors"], FACTORS) for shard in shards])
    assert np.array_equal(decoded, vectors)
    assert [value for shard in shards for value in shard["idf"]] == [round(float(v), 6) for v in idf]


def test_shards_are_as_full_as_the_budget_allows():
    """Sizing by bytes, not a guess: at 64 factors and short ids a shard holds several thousand products."""
    ids = [f"p{n}" for n in range(12_000)]
    vectors = np.ones((len(ids), 64), dtype=np.float32)
    shards = list(model_docs.product_shards(VERSION, ids, vectors, np.ones(len(ids))))
    assert len(shards) == 3
    assert all(wire_size(shard) > 0.95 * model_docs.SHARD_TARGET_BYTES for shard in shards[:-1])


def test_one_unsized_shard_of_the_same_products_is_refused():
    """The check that guards every write: the old fixed 2,000-product shard at 512 factors is about 5.5 MB."""
    ids = worst_ids(2000)
    vectors = np.zeros((len(ids), FACTORS), dtype=np.float32)
    (whole,) = model_docs.product_shards(VERSION, ids, vectors, np.ones(len(ids)), budget=10 ** 9)
    assert wire_size(whole) > 5_000_000
    with pytest.raises(ValueError, match="over the 2,000,000-byte limit"):
        model_docs.check_size(whole)
    with pytest.raises(ValueError, match="over the 2,000,000-byte limit"):
        model_docs.validate(whole, FACTORS)


def test_similar_shards_at_the_largest_similar_k_stay_under_the_limit():
    ids = worst_ids(600)
    similar = {pid: [[ids[(n + j + 1) % len(ids)], 0.123456] for j in range(MAX_SIMILAR_K)]
               for n, pid in enumerate(ids)}
    shards = list(model_docs.similar_shards(VERSION, similar))
    assert len(shards) > 5
    merged = {}
    for shard in shards:
        assert wire_size(shard) <= model_docs.SHARD_TARGET_BYTES
        model_docs.validate(shard)
        merged.update(shard["items"])
    assert merged == similar
    assert [key for shard in shards for key in shard["items"]] == sorted(similar)


def test_popularity_at_the_largest_popular_k_with_the_worst_ids_is_one_document_under_the_limit():
    ids = [long_id(n, "\U0001f600") for n in range(MAX_POPULAR_K)]
    doc = model_docs.popularity_doc(VERSION, [(pid, 123456789.123456) for pid in ids])
    assert wire_size(doc) <= model_docs.MAX_DOCUMENT_BYTES
    model_docs.validate(doc)


def test_pack_splits_by_budget_and_keeps_an_oversized_item_alone():
    assert model_docs.pack([], 10) == []
    assert model_docs.pack([4, 4, 4], 8) == [(0, 2), (2, 3)]
    assert model_docs.pack([3, 20, 3], 10) == [(0, 1), (1, 2), (2, 3)]
    assert model_docs.pack([5, 5], 10) == [(0, 2)]


def test_the_size_counts_escaped_characters():
    assert model_docs.json_bytes("\u00e9") == len('"\\u00e9"')
    assert model_docs.json_bytes({"a": [1, "b"]}) == len('{"a":[1,"b"]}')


@pytest.mark.parametrize("field, largest", [("similar_k", MAX_SIMILAR_K), ("popular_k", MAX_POPULAR_K)])
def test_training_params_bound_the_list_lengths(field, largest):
    assert getattr(TrainingParams.from_json({field: largest}), field) == largest
    assert getattr(TrainingParams.from_json({field: 0}), field) == 0
    for value in (largest + 1, -1):
        with pytest.raises(ValidationError) as error:
            TrainingParams.from_json({field: value})
        assert error.value.details == {"field": field}


def test_the_quick_bound_for_user_documents_is_never_below_the_real_size():
    """check_size skips serializing a userVector document when a cheap upper bound is under the limit: the bound
    must hold for any characters and numbers (escaped quotes, control characters, astral characters, long floats)."""
    rng = np.random.default_rng(11)
    alphabet = ["a", '"', "\\", "\x01", "\u00e9", "\u2028", "\U0001f600"]
    for _ in range(200):
        def text(length):
            return "".join(rng.choice(alphabet) for _ in range(length))
        interactions = {text(int(rng.integers(1, 40))): float(rng.choice([1e-300, -1.2345678901234567e-308, 3.0]))
                        for _ in range(int(rng.integers(0, 30)))}
        doc = model_docs.user_vector_doc(VERSION, text(int(rng.integers(1, 128))),
                                         rng.normal(size=int(rng.integers(1, 512))).astype(np.float32), interactions,
                                         "2024-01-01T00:00:00.000Z", "2024-01-02T00:00:00.000Z",
                                         [text(int(rng.integers(1, 60))) for _ in range(int(rng.integers(0, 5)))])
        doc["ttl"] = 2_147_483_647
        assert model_docs._user_vector_bound(doc) >= model_docs.json_bytes(doc)


def test_a_user_document_near_the_limit_is_measured_not_guessed():
    # About 1.9 MB of plain ASCII: the bound (12 bytes a character) is far over the limit, the real size is not.
    interactions = {f"p{n:07d}".ljust(120, "x"): 1.5 for n in range(14_000)}
    doc = model_docs.user_vector_doc(VERSION, "u1", np.zeros(64, dtype=np.float32), interactions,
                                     "2024-01-01T00:00:00.000Z", "2024-01-02T00:00:00.000Z", [])
    assert model_docs._user_vector_bound(doc) > model_docs.MAX_DOCUMENT_BYTES > model_docs.json_bytes(doc)
    assert model_docs.check_size(doc) is doc
    doc["interactions"].update({f"q{n:07d}".ljust(120, "x"): 1.5 for n in range(2_000)})
    with pytest.raises(ValueError, match="userVector 'u1' is"):
        model_docs.check_size(doc)
