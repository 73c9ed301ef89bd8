"""``pip-bench``: run any Hugging Face model in AR and PIP mode on a KIE dataset; score and time both."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("pip-kie")
except PackageNotFoundError:  # a source checkout that was never installed
    __version__ = "0.0.0+unknown"
