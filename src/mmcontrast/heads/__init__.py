"""Projection and classification heads (filled by a later release)."""

__all__: list[str] = []
