"""Daybook's HTTP API (contract section 4): ``create_app`` builds it, ``api.serve`` serves it."""

from api.app import create_app

__all__ = ["create_app"]
