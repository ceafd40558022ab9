"""The HTTP API: one module of FastAPI routes per resource, the route class and the dependencies.

Entry points: each route parses, calls one service function and shapes the response."""
