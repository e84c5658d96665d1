import asyncio

import numpy as np
import pytest

from shared.services import scoring
from shared.services.scoring import BatchScorer


def test_concurrent_requests_on_a_loop_share_batches_and_each_get_their_own_exact_scores(monkeypatch):
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(5000, 16)).astype(np.float32)
    scorer = BatchScorer(vectors.T)
    queries = rng.normal(size=(64, 16)).astype(np.float32)
    batch_sizes = []
    score_rows = scorer.score_rows
    monkeypatch.setattr(scorer, "score_rows", lambda requests: batch_sizes.append(len(requests)) or score_rows(requests))

    async def ask_all():
        return await asyncio.gather(*(scorer.score_async(query) for query in queries))

    results = asyncio.run(ask_all())
    for query, result in zip(queries, results):
        assert result.rows is None and not result.approximate
        np.testing.assert_allclose(result.values, vectors @ query, rtol=1e-4, atol=1e-5)
    assert sum(batch_sizes) == 64 and max(batch_sizes) > 1   # the first alone, the rest together
    assert max(batch_sizes) <= scoring.MAX_BATCH
    np.testing.assert_allclose(scorer.score(queries[0]).values, vectors @ queries[0], rtol=1e-4, atol=1e-5)


def test_a_failure_reaches_the_caller_and_the_scorer_recovers():
    scorer = BatchScorer(np.ones((4, 10), dtype=np.float32))
    with pytest.raises(ValueError):
        asyncio.run(scorer.score_async(np.ones(3, dtype=np.float32)))   # wrong length
    assert asyncio.run(scorer.score_async(np.ones(4, dtype=np.float32))).values.tolist() == [4.0] * 10
