"""Merchandising rules under /api/manage/rules (admin key): PUT, GET and DELETE one rule, GET all of them.
Every instance applies a change within a few seconds (shared.services.rules)."""
from __future__ import annotations

import azure.functions as func

from functions.http import handles_errors, json_response, read_json, route_param
from shared import bootstrap

bp = func.Blueprint()


@bp.function_name("put_rule")
@bp.route(route="manage/rules/{rule_id}", methods=["PUT"], auth_level=func.AuthLevel.ADMIN)
@handles_errors
def put_rule(req: func.HttpRequest) -> func.HttpResponse:
    rule, created = bootstrap.rule_book().put(route_param(req, "rule_id"), read_json(req))
    return json_response(rule, 201 if created else 200)


@bp.function_name("list_rules")
@bp.route(route="manage/rules", methods=["GET"], auth_level=func.AuthLevel.ADMIN)
@handles_errors
def list_rules(req: func.HttpRequest) -> func.HttpResponse:
    return json_response({"items": bootstrap.rule_book().list()})


@bp.function_name("get_rule")
@bp.route(route="manage/rules/{rule_id}", methods=["GET"], auth_level=func.AuthLevel.ADMIN)
@handles_errors
def get_rule(req: func.HttpRequest) -> func.HttpResponse:
    return json_response(bootstrap.rule_book().get(route_param(req, "rule_id")))


@bp.function_name("delete_rule")
@bp.route(route="manage/rules/{rule_id}", methods=["DELETE"], auth_level=func.AuthLevel.ADMIN)
@handles_errors
def delete_rule(req: func.HttpRequest) -> func.HttpResponse:
    bootstrap.rule_book().delete(route_param(req, "rule_id"))
    return func.HttpResponse(status_code=204)
