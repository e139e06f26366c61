"""Storage: the Storage protocol, its backends, and the OCFL object layout built on it."""
from .base import Storage, StorageError, StorageNotFound
from .local import LocalStorage
from .memory import MemoryStorage

__all__ = ["Storage", "StorageError", "StorageNotFound", "LocalStorage", "MemoryStorage"]
