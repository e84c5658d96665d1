"""A FunctionApp with one anonymous function that answers with what the worker handed it (params, body), to
check what the local host passes on: served with `manage.py serve --app tests.integration.echo_app`."""
import base64
import json

import azure.functions as func

app = func.FunctionApp()


@app.function_name("echo")
@app.route(route="echo", methods=["GET", "POST"], auth_level=func.AuthLevel.ANONYMOUS)
def echo(req: func.HttpRequest) -> func.HttpResponse:
    body = {"params": dict(req.params), "body": base64.b64encode(req.get_body()).decode()}
    return func.HttpResponse(json.dumps(body), mimetype="application/json")


@app.function_name("health")
@app.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("{}", mimetype="application/json")
