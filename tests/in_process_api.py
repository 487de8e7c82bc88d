"""The API in process: Flask's test client over an app built once per session and backend.

``InProcess`` answers the same calls as ``served_api.Served`` (``get``,
``request``, ``token``, the sample's reference), so an API test reads the same
whichever it is given; its answers are ``Answer`` objects with the part of
``requests.Response`` the tests read. No socket, no worker process: what only
the real server does (its logs, HTTP parsing, slow clients, worker exit) is the
served tier's job.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from served_api import SampleApi


class Answer:
    """A Flask test response seen through the ``requests.Response`` names the tests use."""

    def __init__(self, response: Any) -> None:
        self._response = response
        self.status_code: int = response.status_code
        self.headers = response.headers  # case-insensitive, like requests'
        self.content: bytes = response.get_data()
        self.text: str = response.get_data(as_text=True)
        self.url: str = response.request.url

    def json(self) -> Any:
        return json.loads(self.text)


@dataclass(kw_only=True)
class InProcess(SampleApi):
    """The API app of the session's warehouse, reached through Flask's test client."""

    app: Any

    def _call(self, method: str, path: str, kwargs: dict) -> Answer:
        params = kwargs.pop("params", None)
        if isinstance(params, dict):  # requests leaves out parameters whose value is None
            params = {key: value for key, value in params.items() if value is not None}
        follow = kwargs.pop("allow_redirects", True)
        kwargs.pop("timeout", None)
        client = self.app.test_client()
        return Answer(
            client.open(path, method=method, query_string=params, follow_redirects=follow, **kwargs)
        )

    def get(self, path: str, token: str | None = None, params: dict | None = None, **kwargs):
        headers = dict(kwargs.pop("headers", {}) or {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return self._call("GET", path, {**kwargs, "params": params, "headers": headers})

    def request(self, method: str, path: str, **kwargs) -> Answer:
        return self._call(method.upper(), path, kwargs)

    def close(self) -> None:
        self.app.extensions["daybook"].reader.close()
