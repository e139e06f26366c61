"""The `fangzhi` command line."""
from __future__ import annotations

import json
import secrets
import sys

import click

from repository.access import SYSTEM
from repository.errors import RepositoryError
from storage.base import StorageError


class Context:
    def __init__(self):
        from .settings import load

        self.settings = load()
        self._archive = self._accounts = None

    @property
    def archive(self):
        if self._archive is None:
            from .bootstrap import build_archive

            self._archive = build_archive(self.settings)
        return self._archive

    @property
    def accounts(self):
        if self._accounts is None:
            from .bootstrap import build_accounts

            self._accounts = build_accounts(self.settings)
        return self._accounts


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
    if not any(a.has_role("admin") for a in (u.as_user() for u in obj.accounts.store.all())):
        password = secrets.token_urlsafe(12)
        obj.accounts.add_user("admin", password, ["admin"], display_name="管理员", by=SYSTEM)
        click.echo(f"demo: administrator 'admin' created with password {password} (shown only now; "
                   "change it at /account/password)")


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


@main.command()
@click.argument("item_id")
@click.pass_obj
def audit(obj, item_id):
    """Show who changed an item, when and why (from its versions, and purge records)."""
    from repository.services import item_object

    events = obj.archive.catalog.events(item_object(item_id))
    if not events:
        raise click.ClickException(f"no audit events for item {item_id}")
    for e in events:
        click.echo(f"{e['at']}  v{e['version'] or '-'}  {e['action']:<9} {e['user']:<16} {e['message']}")


@main.group()
def user():
    """Manage user accounts (admin)."""


@user.command("add")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True, help="admin, archivist, curator, member, researcher")
@click.option("--name", default="", help="Display name.")
@click.option("--password", default=None, help="Initial password (default: generated and printed once).")
@click.pass_obj
def user_add(obj, username, roles, name, password):
    """Add a user; prints a generated password once unless --password is given."""
    generated = password is None
    password = password or secrets.token_urlsafe(12)
    obj.accounts.add_user(username, password, roles, display_name=name, by=SYSTEM)
    click.echo(f"added {username} ({', '.join(roles)})" + (f" with password {password}" if generated else ""))


@user.command("list")
@click.pass_obj
def user_list(obj):
    """List users with their roles and state."""
    for a in obj.accounts.users(by=SYSTEM):
        state = "disabled" if a.disabled else ("locked" if a.locked_until else "active")
        click.echo(f"{a.username:<20} {','.join(sorted(a.roles)):<30} {state}")


@user.command("disable")
@click.argument("username")
@click.pass_obj
def user_disable(obj, username):
    """Disable an account (its sessions end)."""
    obj.accounts.set_disabled(username, True, by=SYSTEM)
    click.echo(f"disabled {username}")


@user.command("enable")
@click.argument("username")
@click.pass_obj
def user_enable(obj, username):
    obj.accounts.set_disabled(username, False, by=SYSTEM)
    click.echo(f"enabled {username}")


@user.command("set-role")
@click.argument("username")
@click.argument("roles", nargs=-1, required=True)
@click.pass_obj
def user_set_role(obj, username, roles):
    """Replace a user's roles."""
    obj.accounts.set_roles(username, roles, by=SYSTEM)
    click.echo(f"{username}: {', '.join(roles)}")


@main.group()
def token():
    """Manage API tokens (admin)."""


@token.command("create")
@click.argument("name")
@click.option("--scope", "scopes", multiple=True, required=True, help="read, read-alliance or write")
@click.pass_obj
def token_create(obj, name, scopes):
    """Create a token; its secret is printed once."""
    secret, t = obj.accounts.create_token(name, scopes, by=SYSTEM)
    click.echo(f"token {t.id} for {name}: {secret}")


@token.command("list")
@click.pass_obj
def token_list(obj):
    for t in obj.accounts.tokens(by=SYSTEM):
        click.echo(f"{t.id:<4} {t.name:<24} {','.join(sorted(t.scopes)):<20} "
                   f"{'revoked' if t.revoked else 'active'}  last used {t.last_used or 'never'}")


@token.command("revoke")
@click.argument("token_id", type=int)
@click.pass_obj
def token_revoke(obj, token_id):
    obj.accounts.revoke_token(token_id, by=SYSTEM)
    click.echo(f"revoked token {token_id}")


if __name__ == "__main__":
    main()
