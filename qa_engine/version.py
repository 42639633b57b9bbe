"""The package version: one place, read by the package root, the index manifest and the build."""

__version__ = "0.1.0"
