"""The search package's one exception base."""


class SearchError(Exception):
    """Base of every error raised by search: an index that cannot be used
    (``index.SearchIndexError``), a query that cannot be understood (``query.QueryError``)."""
