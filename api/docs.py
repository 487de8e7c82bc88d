"""Interactive API docs at ``/v2/docs``: Swagger UI over the generated ``/v2/openapi.json``."""

from __future__ import annotations

from flask import Flask, render_template_string
from flask_openapi3_swagger.templates import swagger_html_string


def install_docs(app: Flask) -> None:
    """Serve the Swagger page at /v2/docs; its relative asset and document URLs resolve
    to /v2/swagger/... (the plugin's static files) and /v2/openapi.json."""

    def docs() -> str:
        return render_template_string(
            swagger_html_string, doc_url="openapi.json", swagger_config={}, oauth_config=None
        )

    app.add_url_rule("/v2/docs", endpoint="docs", view_func=docs)
