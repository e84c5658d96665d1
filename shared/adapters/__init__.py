"""Implementations of the domain ports; vendor SDKs are imported inside their adapter only."""
