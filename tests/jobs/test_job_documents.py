"""The job's re-implemented pieces agree with shared/ (the job cannot import shared: only databricks_jobs/ is
deployed). No Spark needed."""
from __future__ import annotations

import numpy as np
import pytest

from shared.domain import model_docs, training_params
from shared.domain.training import job_parameters
from shared.domain.training_params import TrainingParams
from shared.domain.validation import format_timestamp, parse_timestamp
from tests.jobs import conftest  # noqa: F401  (puts databricks_jobs/src on sys.path)
from tests.jobs.wide_orders import long_id

from als_job import config, documents  # noqa: E402
from als_job.config import TRAINING_DEFAULTS, parse_args  # noqa: E402

VERSION = "20240101T120000Z-ab12cd34"


def test_constants_match_model_docs():
    for name in ("SCHEMA_VERSION", "MANIFEST_ID", "POPULARITY_ID", "MAX_DOCUMENT_BYTES", "SHARD_TARGET_BYTES",
                 "FOLD_IN_OVERLAP_SECONDS"):
        assert getattr(documents, name) == getattr(model_docs, name), name
    assert (config.MAX_SIMILAR_K, config.MAX_POPULAR_K) == (training_params.MAX_SIMILAR_K,
                                                            training_params.MAX_POPULAR_K)


def test_document_builders_match_model_docs():
    rng = np.random.default_rng(3)
    ids = [f"p{i}" for i in range(5)]
    vectors, idf = rng.normal(size=(5, 4)).astype(np.float32), rng.random(5)
    for budget in (200, 10_000):
        job_shards = list(documents.product_shards(VERSION, ids, vectors, idf, budget=budget))
        assert job_shards == list(model_docs.product_shards(VERSION, ids, vectors, idf, budget=budget))
    assert len(job_shards) == 1 and len(list(documents.product_shards(VERSION, ids, vectors, idf, budget=200))) > 1
    similar = {"b": [["a", 0.5]], "a": [["b", 0.5], ["c", 0.25]], "c": []}
    for budget in (80, 10_000):
        assert (list(documents.similar_shards(VERSION, similar, budget))
                == list(model_docs.similar_shards(VERSION, similar, budget)))
    assert documents.popularity_doc(VERSION, [("a", 3), ("b", 1)]) == model_docs.popularity_doc(VERSION,
                                                                                             [("a", 3), ("b", 1)])
    args = (VERSION, "u1", vectors[0], {"p1": 0.1234567}, "2024-01-01T00:00:00.000Z", "2024-01-02T00:00:00.000Z",
            ["o1"])
    assert documents.user_vector_doc(*args) == model_docs.user_vector_doc(*args)
    assert documents.encode_vectors(vectors) == model_docs.encode_vectors(vectors)


def test_sizing_matches_model_docs_at_512_factors_with_the_longest_ids():
    ids = [long_id("p", n) for n in range(1200)]
    rng = np.random.default_rng(5)
    vectors, idf = rng.normal(size=(len(ids), 512)).astype(np.float32), rng.random(len(ids))
    job_shards = list(documents.product_shards(VERSION, ids, vectors, idf))
    assert job_shards == list(model_docs.product_shards(VERSION, ids, vectors, idf)) and len(job_shards) >= 2
    assert all(documents.json_bytes(doc) <= documents.SHARD_TARGET_BYTES for doc in job_shards)
    costs = [3, 30, 4, 4, 4]
    assert documents.pack(costs, 8) == model_docs.pack(costs, 8) == [(0, 1), (1, 2), (2, 4), (4, 5)]
    (whole,) = documents.product_shards(VERSION, ids, vectors, idf, budget=10 ** 9)
    for check in (documents.check_size, model_docs.check_size):
        with pytest.raises(ValueError, match="over the 2,000,000-byte limit"):
            check(whole)


def test_timestamps_use_the_fixed_width_form():
    moment = parse_timestamp("2024-02-29T23:59:58.007Z", "t")
    micros = int(moment.timestamp()) * 1_000_000 + moment.microsecond
    assert documents.format_micros(micros) == format_timestamp(moment) == "2024-02-29T23:59:58.007Z"


def test_manifest_validates_with_and_without_ttl():
    params = TrainingParams().to_json()
    common = dict(params=params, counts={"users": 2, "products": 3, "interactions": 4, "orders": 2},
                  weighting={"meanRowSum": 1.5, "users": 2}, decay_reference="2024-01-01T00:00:00.000Z",
                  received_through="2024-01-01T00:00:01.000Z", shards={"products": 1, "similar": 1},
                  timings={"fit": 1.23456}, created_at="2024-01-01T00:00:02.000Z")
    plain = documents.manifest_doc(VERSION, **common)
    model_docs.validate(plain)
    assert "ttl" not in plain and plain["trainer"] == "spark" and plain["metrics"] is None
    assert documents.manifest_doc(VERSION, ttl_seconds=60, **common)["ttl"] == 60


def test_similar_products_excludes_itself_and_zero_vectors():
    vectors = np.array([[1, 0], [0.9, 0.1], [0, 1], [-1, 0], [0, 0]], dtype=np.float32)
    ids = ["a", "b", "c", "d", "z"]
    similar = documents.similar_products(ids, vectors, k=3)
    # Only positive cosines count: c is orthogonal to a, d opposite to a and b; z has no direction.
    assert similar["a"] == [["b", pytest.approx(0.9 / np.hypot(0.9, 0.1), abs=1e-6)]]
    assert [pid for pid, _ in similar["b"]] == ["a", "c"]
    assert similar["d"] == [] and similar["z"] == []
    assert all(pid not in (own, "z") for own, pairs in similar.items() for pid, _ in pairs)


def test_job_defaults_are_the_training_params_defaults():
    assert TRAINING_DEFAULTS == TrainingParams().to_json()
    config = parse_args(["--io_mode=files", "--input_path=in", "--output_path=out"])
    assert config.params.to_json() == TrainingParams().to_json()
    assert model_docs.valid_version(config.model_version)


def test_job_parameters_of_a_request_parse():
    params = TrainingParams(factors=32, regularization=0.1, seed=7)
    argv = [f"--{name}={value}" for name, value in job_parameters(VERSION, params).items()]
    config = parse_args(argv + ["--io_mode=files", "--input_path=in", "--output_path=out"])
    assert config.model_version == VERSION
    assert config.params.to_json() == params.to_json()
