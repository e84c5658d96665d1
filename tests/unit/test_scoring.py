import threading

import numpy as np

from shared.services.scoring import BatchScorer


def test_concurrent_requests_each_get_their_own_exact_scores():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(5000, 16)).astype(np.float32)
    scorer = BatchScorer(vectors.T)
    queries = rng.normal(size=(64, 16)).astype(np.float32)
    results: dict[int, np.ndarray] = {}

    def ask(number):
        for _ in range(20):
            results[number] = scorer.score(queries[number])

    threads = [threading.Thread(target=ask, args=(number,)) for number in range(64)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for number in range(64):
        np.testing.assert_allclose(results[number], vectors @ queries[number], rtol=1e-4, atol=1e-5)


def test_a_failure_reaches_the_caller_and_the_scorer_recovers():
    scorer = BatchScorer(np.ones((4, 10), dtype=np.float32))
    try:
        scorer.score(np.ones(3, dtype=np.float32))   # wrong length
    except ValueError:
        pass
    else:
        raise AssertionError("a wrong vector length must fail")
    assert scorer.score(np.ones(4, dtype=np.float32)).tolist() == [4.0] * 10
