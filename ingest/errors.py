"""The ingest package's one exception base; each error names the file, step or source and why."""


class IngestError(Exception):
    """Base of every error raised by ingest: a refused upload (``safety.UploadRefused``), an
    unusable source (``sources.SourceError``), a failed media step (``steps.StepError``)."""
