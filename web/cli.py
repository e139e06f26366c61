"""The `fangzhi` command line."""
from __future__ import annotations

import json
import sys

import click

from repository.access import SYSTEM
from repository.errors import RepositoryError
from storage.base import StorageError


class Context:
    def __init__(self):
        self._archive = None
        self.settings = None

    @property
    def archive(self):
        if self._archive is None:
            from .bootstrap import build_archive
            from .settings import load

            self.settings = load()
            self._archive = build_archive(self.settings)
        return self._archive


class Group(click.Group):
    """Turns archive errors into one line on stderr and exit status 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (RepositoryError, StorageError) as exc:
            click.echo(f"fangzhi: {exc}", err=True)
            sys.exit(1)


@click.group(cls=Group)
@click.pass_context
def main(ctx):
    """方志 Fangzhi — local-heritage digital archive."""
    ctx.obj = Context()


@main.command()
@click.option("--host", default=None, help="Address to listen on (FANGZHI_HOST).")
@click.option("--port", default=None, type=int, help="Port to listen on (FANGZHI_PORT).")
def serve(host, port):
    """Serve the web site and API (development server; see README for production)."""
    from . import create_app

    app = create_app()
    settings = app.config["FANGZHI"]
    app.run(host=host or settings["HOST"], port=port or settings["PORT"], threaded=True)


@main.command()
@click.pass_obj
def demo(obj):
    """Create the demo collection (idempotent)."""
    from .demo import create_demo

    created = create_demo(obj.archive, library=obj.settings["LIBRARY_NAME"])
    click.echo(f"demo: {created} items created" if created else "demo: already present")


@main.command()
@click.pass_obj
def rebuild(obj):
    """Recreate the catalog from storage alone."""
    with click.progressbar(length=1, label="rebuilding catalog", show_pos=True) as bar:
        def progress(done, total):
            bar.length = total
            bar.update(1)

        count = obj.archive.rebuild(progress=progress)
    click.echo(f"rebuilt the catalog from {count} objects")


@main.group()
def item():
    """Look at items."""


@item.command("show")
@click.argument("item_id")
@click.option("--version", type=int, default=None, help="A past version (default: the latest).")
@click.pass_obj
def item_show(obj, item_id, version):
    """Print an item's record as JSON."""
    record = obj.archive.get_item(item_id, user=SYSTEM, version=version)
    out = {**record.value.to_dict(), "version": record.version, "created": record.created, "updated": record.updated}
    click.echo(json.dumps(out, ensure_ascii=False, indent=2))


@main.command()
@click.option("--digest", type=click.Choice(["sha256", "sha512"]), default="sha256",
              help="Which recorded digest to check (sha512: the OCFL manifest).")
@click.pass_obj
def fixity(obj, digest):
    """Re-hash every stored file; report every mismatch; exit 1 if any."""
    from storage.fixity import audit, files_to_check

    objects = obj.archive.objects
    checks = list(files_to_check(objects, digest))
    with click.progressbar(length=len(checks), label="checking fixity", show_pos=True) as bar:
        problems = audit(objects, checks, digest=digest, progress=lambda size: bar.update(1))
    for problem in problems:
        click.echo(f"FIXITY FAILURE {problem}", err=True)
    click.echo(f"{len(checks)} files checked, {len(problems)} problems")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
