"""The repository's exceptions: each names what failed in words an archivist understands."""


class RepositoryError(Exception):
    """Base of every error raised by the repository services."""


class ValidationError(RepositoryError):
    """Metadata failed validation. ``problems`` lists (field, problem) pairs."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{field}: {problem}" for field, problem in problems))


class NotFound(RepositoryError):
    pass


class Conflict(RepositoryError):
    """The record changed since the caller read it (stale update)."""


class PermissionDenied(RepositoryError):
    pass


class Gone(RepositoryError):
    """The item was withdrawn; ``item`` is the tombstone."""

    def __init__(self, item):
        self.item = item
        super().__init__(f"item {item.id} was withdrawn: {item.withdrawn.get('reason', '')}")
