"""Science of the LPS force-field workflow."""

from importlib import metadata

try:  # one version number: pyproject.toml's, as installed
    __version__ = metadata.version("lpsflow")
except metadata.PackageNotFoundError:  # a source tree that was never pip-installed
    __version__ = "0+unknown"
