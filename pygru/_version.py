"""The package version, stated once: pyproject.toml reads it from here
([tool.setuptools.dynamic]) and pygru.__version__ imports it."""
__version__ = "0.3.0"
