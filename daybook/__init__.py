"""Daybook: activity-analytics warehouse, semantic layer and metrics API."""

__version__ = "0.1.0"
