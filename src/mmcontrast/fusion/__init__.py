"""Multimodal fusion modules (filled by a later release)."""

__all__: list[str] = []
