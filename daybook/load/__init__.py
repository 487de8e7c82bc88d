"""Loading raw files into the warehouse (``daybook load``): see ``loader.load_files``."""

from daybook.load.errors import LoadError
from daybook.load.loader import LoadResult, load_files

__all__ = ["LoadError", "LoadResult", "load_files"]
