"""Blueprints: one module per resource or trigger. Thin: parse, call a service, respond."""
