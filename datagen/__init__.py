"""Template-driven synthetic documents with exact ground truth for key-information extraction."""

__version__ = "0.14.0"
