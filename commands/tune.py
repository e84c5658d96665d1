"""`manage.py tune PATH`: a grid search over training parameters, each scored with `evaluate`'s protocol on
one loaded split. Prints a table sorted by NDCG; the shipped defaults in shared/domain/training_params.py
were chosen with it (docs/evaluation.md)."""
from __future__ import annotations

import itertools
import json
import sys
from dataclasses import fields

from commands.evaluate import Evaluation
from shared.domain.training_params import TrainingParams

DEFAULT_GRID = {"half_life_days": [30, 45, 60], "alpha": [0.5, 1.0], "factors": [48, 64]}


def add_arguments(parser) -> None:
    parser.add_argument("path")
    parser.add_argument("--test-days", type=int, default=30)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--grid", help='JSON object of parameter -> list of values, e.g. \'{"alpha": [0.5, 1]}\'')
    parser.add_argument("--json", dest="json_out", help="write every result to this file")


def run(args) -> int:
    grid = json.loads(args.grid) if args.grid else DEFAULT_GRID
    known = {item.name for item in fields(TrainingParams)}
    unknown = sorted(set(grid) - known)
    if unknown:
        print(f"error: unknown parameters {unknown}; known: {sorted(known)}", file=sys.stderr)
        return 2
    evaluation = Evaluation(args.path, args.test_days, progress=False)
    names = sorted(grid)
    results = []
    for values in itertools.product(*(grid[name] for name in names)):
        changes = dict(zip(names, values))
        params = TrainingParams.from_json({**TrainingParams().to_json(), **changes})
        result = evaluation.run(params, args.k)
        results.append({"params": changes, "model": result["model"], "train_seconds": result["train_seconds"]})
        print(f"{json.dumps(changes):60} ndcg={result['model']['ndcg']:.4f} "
              f"precision={result['model']['precision']:.4f} train={result['train_seconds']:.1f}s", flush=True)
    results.sort(key=lambda row: -row["model"]["ndcg"])
    print(f"\nbest: {json.dumps(results[0]['params'])} ndcg={results[0]['model']['ndcg']:.4f} "
          f"(popularity {result['popularity']['ndcg']:.4f})")
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=2)
    return 0
