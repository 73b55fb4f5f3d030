"""Jinja2 templates of the opsflow renderers, shipped as package data ``opsflow.renderers``."""
