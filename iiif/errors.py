"""The IIIF package's one exception base."""


class IIIFError(Exception):
    """Base of every error raised by the IIIF package: a request refused
    (``image.ImageRequestError``), an image not made in time (``imaging.Overloaded``), a pyramid
    that cannot be read or rendered (``imaging.ImagingError``)."""
