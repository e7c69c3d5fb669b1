"""Per-request batch loaders: every field that reads stored data goes through one of these."""

from dataloaders.registry import Loaders

__all__ = ["Loaders"]
