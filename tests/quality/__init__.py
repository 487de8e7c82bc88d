"""Data-quality tests (a package, so its conftest does not shadow the root one)."""
