"""The approximate index's candidates, scored exactly: recall against exact scoring, exclusions kept exact."""
import asyncio
import math

import numpy as np
import pytest

from shared.domain.ranking import top_k
from shared.services import approximate
from shared.services.approximate import ApproximateScorer
from shared.services.scoring import BatchScorer

PRODUCTS, FACTORS = 40_000, 32


@pytest.fixture(scope="module")
def vectors():
    # Isotropic random vectors: no neighbourhood structure at all, the hardest case for any index.
    return (np.random.default_rng(1).normal(size=(PRODUCTS, FACTORS)) / np.sqrt(FACTORS)).astype(np.float32)


@pytest.fixture(scope="module")
def scorers(vectors):
    return ApproximateScorer(vectors, candidates=500), BatchScorer(vectors.T)


def best(scored, k=10, excluded=None):
    values = scored.values.copy()
    if scored.rows is None:
        return top_k(values, k, excluded).tolist()
    if excluded is not None:
        values[np.isin(scored.rows, excluded)] = -np.inf
    return scored.rows[top_k(values, k)].tolist()


def test_recall_at_10_against_exact_scoring_is_at_least_0_98_and_every_score_is_exact(vectors, scorers):
    approximate_scorer, exact = scorers
    queries = (np.random.default_rng(2).normal(size=(200, FACTORS)) / np.sqrt(FACTORS)).astype(np.float32)
    found = approximate_scorer.score_rows([(query, None, 0) for query in queries])
    recall = np.mean([len(set(best(f)) & set(best(exact.score(q)))) / 10 for f, q in zip(found, queries)])
    assert recall >= 0.98
    assert all(f.approximate and len(f.rows) == 500 for f in found)
    np.testing.assert_allclose(found[0].values, vectors[found[0].rows] @ queries[0], rtol=1e-5, atol=1e-6)


def test_the_shoppers_own_best_products_excluded_leave_recall_at_0_98_and_never_appear(scorers):
    approximate_scorer, exact = scorers
    queries = np.random.default_rng(3).normal(size=(50, FACTORS)).astype(np.float32)
    recalls = []
    for query in queries:
        bought = np.asarray(best(exact.score(query), k=300))   # their 300 best products: all bought, say
        scored = approximate_scorer.score(query, bought, own=len(bought))
        assert len(scored.rows) == 500 + approximate.PER_OWN_EXCLUSION * 300
        shown = best(scored, excluded=bought)
        assert len(shown) == 10 and not set(shown) & set(bought.tolist())
        recalls.append(len(set(shown) & set(best(exact.score(query), excluded=bought))) / 10)
    assert np.mean(recalls) >= 0.98


def test_exclusions_spread_over_the_catalogue_take_their_share_of_the_candidates(scorers):
    approximate_scorer, _ = scorers
    query = np.random.default_rng(6).normal(size=FACTORS).astype(np.float32)
    out_of_stock = np.arange(0, PRODUCTS, 25)   # 4%
    assert len(approximate_scorer.score(query, out_of_stock).rows) == math.ceil(500 / 0.96)


def test_the_codes_are_the_ones_faiss_itself_computes(vectors):
    import faiss
    quantizer = faiss.IndexPQ(FACTORS, FACTORS, 4, faiss.METRIC_INNER_PRODUCT)
    quantizer.train(vectors[:5000])
    levels = faiss.vector_to_array(quantizer.pq.centroids).reshape(FACTORS, 16)
    ours = approximate.pq_codes(np.ascontiguousarray(vectors[:3000].T), levels)
    assert np.array_equal(ours, quantizer.pq.compute_codes(vectors[:3000]))


def test_a_request_excluding_much_of_the_catalogue_is_scored_exactly_over_what_it_allows(scorers):
    approximate_scorer, exact = scorers
    query = np.random.default_rng(4).normal(size=FACTORS).astype(np.float32)
    allowed = np.arange(0, PRODUCTS, 20)                       # one category of 5%
    excluded = np.setdiff1d(np.arange(PRODUCTS), allowed)
    assert len(excluded) > approximate.EXACT_OVER_ALLOWED_FROM * PRODUCTS
    scored = approximate_scorer.score(query, excluded)
    assert not scored.approximate and scored.rows.tolist() == allowed.tolist()
    assert best(scored) == best(exact.score(query), excluded=excluded)


def test_requests_on_a_loop_share_one_search_and_get_their_own_candidates(scorers, monkeypatch):
    approximate_scorer, _ = scorers
    queries = np.random.default_rng(5).normal(size=(16, FACTORS)).astype(np.float32)
    batches = []
    score_rows = approximate_scorer.score_rows
    monkeypatch.setattr(approximate_scorer, "score_rows",
                        lambda requests: batches.append(len(requests)) or score_rows(requests))

    async def ask_all():
        return await asyncio.gather(*(approximate_scorer.score_async(q) for q in queries))

    results = asyncio.run(ask_all())
    assert max(batches) > 1
    for query, result in zip(queries, results):
        assert result.rows.tolist() == approximate_scorer.score(query).rows.tolist()
