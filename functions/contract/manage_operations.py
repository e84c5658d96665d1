"""The operator's routes under `/api/manage` (admin key): training runs and models. The Functions host keeps
every route starting with `admin` or `runtime` for itself, hence `manage`."""
from __future__ import annotations

from functions.contract.parameters import ADMIN, IDEMPOTENCY_KEY, USER_ID, integer_query, ok, operation, path

_RUN_LINKS = {"GetTrainingRun": {"operationId": "get_training_run", "parameters": {"run_id": "$response.body#/id"}}}

MANAGE_OPERATIONS: dict[str, dict[str, dict]] = {
    "/manage/training-runs": {
        "post": operation(
            "start_training_run", "Start a training run now", ADMIN, tag="operations",
            parameters=(IDEMPOTENCY_KEY,), body="TrainingRunRequest", body_required=False, errors=("409", "412"),
            responses={"202": ok("TrainingRequest", "the training request", ("Location",), _RUN_LINKS)}),
        "get": operation(
            "list_training_runs", "Recent training requests, newest first", ADMIN, tag="operations",
            parameters=(integer_query("limit", 20, 1, 100, "how many"),),
            responses={"200": ok("TrainingRequestList", "training requests")}),
    },
    "/manage/training-runs/{run_id}": {"get": operation(
        "get_training_run", "One training request", ADMIN, tag="operations",
        parameters=(path("run_id", "the training request id"),),
        responses={"200": ok("TrainingRequest", "the training request")})},
    "/manage/models/active": {
        "get": operation("get_active_model", "The active and previous model version and the manifest", ADMIN,
                         tag="operations", responses={"200": ok("ActiveModel", "the pointer and manifest")}),
        "put": operation("set_active_model", "Activate a stored model version (rollback)", ADMIN,
                         tag="operations", body="ActivateModel", errors=("404", "412"),
                         responses={"200": ok("ModelPointer", "the new pointer")}),
    },
    "/manage/models": {"get": operation(
        "list_models", "The stored model versions, newest first (what a rollback can go to)", ADMIN,
        tag="operations", responses={"200": ok("StoredModels", "stored models")})},
    "/manage/metrics": {"get": operation(
        "live_metrics", "Live figures of the process that answers", ADMIN, tag="operations",
        responses={"200": ok("LiveMetrics", "orders per minute, recommendation latency and strategies")})},
    "/manage/users/{user_id}": {"delete": operation(
        "manage_delete_user", "Delete a shopper's orders and vector (idempotent)", ADMIN, tag="users",
        parameters=(USER_ID,), responses={"200": ok("UserDeletion", "what was deleted")})},
    "/manage/users/{user_id}/export": {"get": operation(
        "manage_export_user", "Everything stored about a shopper", ADMIN, tag="users",
        parameters=(USER_ID,), responses={"200": ok("UserExport", "the shopper's documents")})},
}
