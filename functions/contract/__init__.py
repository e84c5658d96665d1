"""The OpenAPI 3.1 contract of the HTTP API, kept as Python data next to the blueprints it describes:
`schemas` (JSON Schema of bodies, bounds taken from the validating code), `operations` (one entry per route
and method) and `document` (assembles them, with the security schemes). Served by `functions.openapi`."""
