"""Science of the LPS force-field workflow."""

__version__ = "0.1.0"
