"""Seeded synthetic raw data (``daybook generate``): see ``dataset.generate_dataset``."""

from daybook.generate.dataset import generate_dataset

__all__ = ["generate_dataset"]
