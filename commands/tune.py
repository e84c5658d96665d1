"""`manage.py tune PATH`: a grid search over training and ranking parameters, each scored with `evaluate`'s
protocol on one loaded split. Ranking parameters (the trending definition and its weight in the
personalized list) need no retraining, so a grid over them alone takes seconds per point. Prints a table
sorted by NDCG and the gain of each ingredient; the shipped defaults in shared/domain/training_params.py and
shared/domain/trending.py (RankingParams) were chosen with it (docs/evaluation.md)."""
from __future__ import annotations

import itertools
import json
import sys
from dataclasses import fields

from commands.evaluate import Evaluation
from shared.domain.errors import ValidationError
from shared.domain.training_params import TrainingParams
from shared.domain.trending import RankingParams

DEFAULT_GRID = {"trending_weight": [0.0, 0.8, 1.0, 1.3, 1.7], "trending_half_life_days": [3, 5, 7],
                "trending_window_days": [7, 14]}


def add_arguments(parser) -> None:
    parser.add_argument("path")
    parser.add_argument("--test-days", type=int, default=30)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--grid", help='JSON object of parameter -> list of values, e.g. \'{"alpha": [0.5, 1]}\'')
    parser.add_argument("--json", dest="json_out", help="write every result to this file")


def run(args) -> int:
    grid = json.loads(args.grid) if args.grid else DEFAULT_GRID
    training_names = {item.name for item in fields(TrainingParams)}
    ranking_names = {item.name for item in fields(RankingParams)}
    unknown = sorted(set(grid) - training_names - ranking_names)
    if unknown:
        print(f"error: unknown parameters {unknown}; known: {sorted(training_names | ranking_names)}",
              file=sys.stderr)
        return 2
    # Training parameters vary slowest, so each model is trained once for all the ranking points.
    names = sorted(grid, key=lambda name: (name in ranking_names, name))
    try:
        points = [dict(zip(names, values)) for values in itertools.product(*(grid[name] for name in names))]
        plans = [(changes, _training(changes, training_names), _ranking(changes, ranking_names))
                 for changes in points]
    except ValidationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    evaluation = Evaluation(args.path, args.test_days, progress=False)
    results = []
    for changes, training, ranking in plans:
        result = evaluation.run(training, args.k, ranking=ranking)
        results.append({"params": changes, **{name: result[name] for name in ("model", "als", "trending",
                                                                                "popularity")},
                        "train_seconds": result["train_seconds"]})
        print(f"{json.dumps(changes):90} ndcg={result['model']['ndcg']:.4f} "
              f"precision={result['model']['precision']:.4f} train={result['train_seconds']:.1f}s", flush=True)
    results.sort(key=lambda row: -row["model"]["ndcg"])
    best = results[0]
    print(f"\nbest: {json.dumps(best['params'])} ndcg={best['model']['ndcg']:.4f}")
    print(f"ingredients at the best point: popularity {best['popularity']['ndcg']:.4f}, "
          f"ALS alone {best['als']['ndcg']:.4f}, trending alone {best['trending']['ndcg']:.4f}, "
          f"ALS + trending {best['model']['ndcg']:.4f} "
          f"(trending adds {best['model']['ndcg'] - best['als']['ndcg']:+.4f} to ALS)")
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=2)
    return 0


def _training(changes: dict, names: set[str]) -> TrainingParams:
    return TrainingParams.from_json({**TrainingParams().to_json(),
                                     **{key: value for key, value in changes.items() if key in names}})


def _ranking(changes: dict, names: set[str]) -> RankingParams:
    return RankingParams.from_json({**RankingParams().to_json(),
                                    **{key: value for key, value in changes.items() if key in names}})
