"""Maintainer tooling for the course: not used by the notebooks."""
