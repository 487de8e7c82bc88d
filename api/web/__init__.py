"""The activity chart page at ``/``: a small, plain front end over the public ``/v2`` API.

The page holds no data and no secret of its own. It is static HTML, CSS and
JavaScript that calls the same authenticated ``/v2`` endpoints any client
calls, with the bearer token the user types in (or the demo passes in the URL
fragment, which browsers never send to a server). Keeping it a plain
blueprint, outside the OpenAPI document, means the API contract stays exactly
the documented endpoints plus the directory ones.

The charting library, uPlot, is vendored under ``static/vendor/uplot`` (from the
npm registry, MIT licence) and served from the app: nothing outside the
machine is fetched.
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, render_template

web_bp = Blueprint(
    "web",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/web/static",
)


def content_security_policy(*script_hashes: str) -> str:
    """Same origin only: the chart page's policy, and the docs pages' (which add the hashes of
    their own inline scripts, ``'sha256-...'``, computed by ``api.headers``)."""
    return "; ".join(
        (
            "default-src 'self'",
            " ".join(("script-src 'self'", *script_hashes)),
            # uPlot sizes its elements through inline style attributes; Swagger UI and the
            # docs index style elements inline.
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "object-src 'none'",
        )
    )


# Everything the page loads comes from this origin; the API calls are same-origin fetches.
CONTENT_SECURITY_POLICY = content_security_policy()


@web_bp.get("/")
def index() -> Response:
    """The chart page; it fetches everything else from ``/v2`` in the browser."""
    response = Response(render_template("daybook/index.html"), mimetype="text/html")
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def register(app: Flask) -> None:
    """Attach the page to an application (the factory calls this)."""
    app.register_blueprint(web_bp)
