"""Batched, seedable augmentations for IMU and skeleton sequences (filled by a later release)."""

__all__: list[str] = []
