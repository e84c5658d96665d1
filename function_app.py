"""The Azure Functions entry point: exactly one FunctionApp, blueprints registered, no I/O at import."""
import azure.functions as func

from functions import admin, catalogue, health, metrics, openapi, orders, recommendations, rules, training, users

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)

for blueprint in (health.bp, orders.bp, recommendations.bp, catalogue.bp, training.bp, admin.bp, rules.bp, users.bp,
                  metrics.bp, openapi.bp):
    app.register_functions(blueprint)
