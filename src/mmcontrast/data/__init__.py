"""Datasets, splits and synthetic paired data (filled by a later release)."""

__all__: list[str] = []
