"""What a warehouse reader of any backend raises for the API to answer deliberately: kept
apart from the readers (``api.warehouse_reader`` picks the DuckDB reader, which raises
these too) so that no reader module imports another."""


class NothingPublished(RuntimeError):
    """Nothing has been built and published for the API to read yet (answered 500 with this
    message, and ``/readyz`` says not ready)."""
