"""The held-out basket task: test-window orders only, one reproducible (query, hidden) pair per order among the
products the model knows, and the hit rate of any list that answers "given this product"."""
from shared.services.basket_evaluation import basket_tasks, hit_rate, window_baskets

ORDERS = [
    {"orderId": "o1", "userId": "u1", "createdAt": "2024-01-01T00:00:00.000Z",
     "items": [{"productId": "a"}, {"productId": "b"}]},                      # before the cut
    {"orderId": "o2", "userId": "u1", "createdAt": "2024-02-01T00:00:00.000Z",
     "items": [{"productId": "a"}, {"productId": "b"}, {"productId": "b"}]},
    {"orderId": "o3", "userId": "u2", "createdAt": "2024-02-02T00:00:00.000Z", "items": [{"productId": "a"}]},
    {"orderId": "o4", "userId": "u3", "createdAt": "2024-02-03T00:00:00.000Z",
     "items": [{"productId": "a"}, {"productId": "new"}]},                   # one product the model knows
]


def test_only_window_orders_with_two_known_products_make_a_task():
    baskets = window_baskets(ORDERS, "2024-01-15T00:00:00.000Z")
    assert baskets == [("u1/o2", ["a", "b"]), ("u3/o4", ["a", "new"])]
    tasks = basket_tasks(baskets, lambda pid: pid != "new")
    assert len(tasks) == 1 and {tasks[0].query, tasks[0].hidden} == {"a", "b"}
    assert basket_tasks(baskets, lambda pid: pid != "new") == tasks        # reproducible


def test_hit_rate_counts_the_hidden_product_in_the_first_k():
    tasks = basket_tasks([("x", ["a", "b"]), ("y", ["c", "d"]), ("z", ["e", "f"])], lambda pid: True)
    everything = {task.query: [task.hidden] for task in tasks}
    assert hit_rate(tasks, lambda pid: ["other"] + everything[pid], 2) == {"hit_rate": 1.0, "answered": 1.0}
    assert hit_rate(tasks, lambda pid: ["other"] + everything[pid], 1) == {"hit_rate": 0.0, "answered": 1.0}
    assert hit_rate(tasks, lambda pid: [], 10) == {"hit_rate": 0.0, "answered": 0.0}
