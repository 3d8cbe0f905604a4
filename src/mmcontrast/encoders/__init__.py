"""Encoders for inertial ("b t c") and skeleton ("b t j c") sequences."""

__all__: list[str] = []
