"""The Markdown report and chart of `manage.py evaluate --report DIR`."""
from __future__ import annotations

import os

NAMES = {"model": "personalized (ALS + trending, as served)", "als": "ALS alone", "trending": "trending",
         "popularity": "popularity"}
STYLES = {"model": "-o", "als": "-^", "trending": ":d", "popularity": "--s"}


def write_report(result: dict, folder: str, source: str, test_days: int) -> str:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(folder, exist_ok=True)
    curve = result["curve"]
    ks = list(range(1, len(curve["model"]) + 1))
    figure, axes = plt.subplots(1, 4, figsize=(16, 3.6))
    for axis, metric in zip(axes, ("precision", "recall", "ndcg", "map")):
        for name in curve:
            axis.plot(ks, [row[metric] for row in curve[name]], STYLES.get(name, "-"), markersize=3, label=name)
        axis.set_title(f"{metric}@k")
        axis.set_xlabel("k")
        axis.grid(alpha=0.3)
    axes[0].legend()
    figure.tight_layout()
    chart = os.path.join(folder, "metrics_at_k.png")
    figure.savefig(chart, dpi=110)
    plt.close(figure)
    k = result["k"]
    lines = [f"# Evaluation of {os.path.basename(source)}", "",
             f"Test window: the last {test_days} days; {result['test_users']} test users; k = {k}; "
             f"model {result['model_version']} trained in {result['train_seconds']} s; "
             f"ranking {result.get('ranking')}.", "",
             "| list | precision | recall | NDCG | MAP | coverage |", "|---|---|---|---|---|---|"]
    for name in NAMES:
        if name not in result:
            continue
        row = result[name]
        lines.append(f"| {NAMES[name]} | {row['precision']:.4f} | {row['recall']:.4f} | {row['ndcg']:.4f} | "
                     f"{row['map']:.4f} | {row['coverage']:.4f} |")
    baskets = result.get("baskets")
    if baskets:
        lines += ["", f"Held-out baskets: {baskets['tasks']} test-window orders, one product hidden, "
                  "asked with another.",
                  "", f"| list | hit rate@{k} | answered |", "|---|---|---|"]
        for name, label in (("boughtTogether", "bought together"), ("similar", "similar products")):
            lines.append(f"| {label} | {baskets[name]['hit_rate']:.4f} | {baskets[name]['answered']:.4f} |")
    lines += ["", "![metrics at k = 1..20](metrics_at_k.png)", ""]
    path = os.path.join(folder, "report.md")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines))
    return path
