"""Submitting a page's form the way a browser does."""
from werkzeug.datastructures import MultiDict


def submitted(html: str, field: str, *, button: tuple[str, str] | None = None, **changes) -> MultiDict:
    """What a browser sends for the page's form that has a control named ``field`` (every
    successful control, as lxml reads them), with ``changes`` to some fields and the ``button``
    (name, value) pressed."""
    import lxml.html

    form = next(f for f in lxml.html.fromstring(html).forms if field in f.inputs.keys())
    pairs = [(name, changes.get(name, value)) for name, value in form.form_values()]
    pairs += [(k, v) for k, v in changes.items() if k not in dict(pairs)]
    return MultiDict(pairs + ([button] if button else []))
