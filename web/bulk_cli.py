"""`fangzhi bulk`: bulk edits with preview, apply, resume and undo; export and update by spreadsheet."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from repository.bulk import FIELDS, Operation

FIELD_HELP = ", ".join(FIELDS)


def _pair(text: str, option: str) -> tuple[str, str]:
    field, sep, value = text.partition("=")
    if not sep:
        raise click.BadParameter(f"{text!r}: write FIELD=VALUE (fields: {FIELD_HELP})", param_hint=option)
    return field.strip(), value


def _selection(bulk, user, query, facets, ids):
    if ids:
        path = Path(ids[1:]) if ids.startswith("@") else None
        listed = path.read_text(encoding="utf-8").split() if path else ids.replace(",", " ").split()
        return bulk.select(user=user, ids=listed)
    filters: dict = {}
    for f in facets:
        name, value = _pair(f, "--facet")
        filters.setdefault(name, []).append(value)
    return bulk.select(user=user, query=query or "", filters=filters)


def _show(plan, limit: int = 20) -> None:
    click.echo(f"{plan.selected} selected, {len(plan.changes)} to change, {plan.unchanged} unchanged, "
               f"{len(plan.problems)} not changeable")
    for c in plan.changes[:limit]:
        where = f"row {c.row}, " if c.row else ""
        click.echo(f"  {where}{c.item_id} v{c.version} {c.label}")
        for k in c.after:
            click.echo(f"      {k}: {c.before.get(k)!r} → {c.after[k]!r}")
    if len(plan.changes) > limit:
        click.echo(f"  … and {len(plan.changes) - limit} more")
    for reason in plan.problems.values():
        click.echo(f"  not changed: {reason}")


def _run(bulk, job_id, user) -> None:
    with click.progressbar(length=len(bulk.store.entries(job_id, ("pending",))), label=f"job {job_id}") as bar:
        job = bulk.run(job_id, user=user, progress=lambda change: bar.update(1))
    click.echo(f"job {job_id}: " + ", ".join(f"{n} {s}" for s, n in sorted(job.counts.items())))
    for c in bulk.store.entries(job_id, ("conflict", "failed")):
        click.echo(f"  {c.state}: {c.item_id}: {c.reason}")
    if job.counts.get("failed"):
        sys.exit(1)


@click.group("bulk", invoke_without_command=True)
@click.option("--query", default=None, help="Select the items this search finds (as the public search).")
@click.option("--facet", "facets", multiple=True, help="With --query: a facet filter NAME=VALUE (repeatable).")
@click.option("--ids", default=None, help="Select these item ids (comma- or space-separated, or @FILE).")
@click.option("--set", "sets", multiple=True, help=f"FIELD=VALUE; fields: {FIELD_HELP}.")
@click.option("--add", "adds", multiple=True, help="FIELD=VALUE to add to a list (subjects, collections, places, language, identifiers).")
@click.option("--remove", "removes", multiple=True, help="FIELD=VALUE to remove from a list.")
@click.option("--replace", "replaces", multiple=True, nargs=3, metavar="FIELD FIND NEW", help="Find and replace in a field.")
@click.option("--regex", is_flag=True, help="--replace's FIND is a regular expression (NEW may use \\1).")
@click.option("--visibility", type=click.Choice(["public", "alliance", "staff", "embargoed", "private"]), default=None)
@click.option("--embargo-until", default="", help="With --visibility embargoed: the date it lifts (YYYY-MM-DD).")
@click.option("--publish", is_flag=True, help="Make the items public.")
@click.option("--unpublish", is_flag=True, help="Make the items staff-only.")
@click.option("--why", default="", help="Why (recorded with every version).")
@click.option("--apply", "do_apply", is_flag=True, help="Write the changes (default: only preview them).")
@click.option("--preview", is_flag=True, help="Only show what would change (the default).")
@click.option("--resume", default=None, metavar="JOB", help="Continue an interrupted job.")
@click.pass_context
def bulk(ctx, query, facets, ids, sets, adds, removes, replaces, regex, visibility, embargo_until, publish,
         unpublish, why, do_apply, preview, resume):
    """Change many items at once: select (--query/--ids), say what (--set/--add/--remove/--replace/
    --visibility/--publish), preview, then --apply; `fangzhi bulk undo JOB` undoes a job."""
    if ctx.invoked_subcommand is not None:
        return
    service, user = ctx.obj.fangzhi.bulk, ctx.obj.user  # the operating-system user, or `fangzhi --as NAME`
    if resume:
        return _run(service, resume, user)
    if query is None and ids is None:
        raise click.UsageError("select items with --query or --ids (or --resume JOB)")
    ops = [Operation("set", *_pair(s, "--set")) for s in sets]
    ops += [Operation("add", *_pair(s, "--add")) for s in adds]
    ops += [Operation("remove", *_pair(s, "--remove")) for s in removes]
    ops += [Operation("replace", f, find=a, replace=b, regex=regex) for f, a, b in replaces]
    if visibility:
        ops.append(Operation("visibility", value=visibility, embargo_until=embargo_until))
    ops += [Operation(o) for o, on in (("publish", publish), ("unpublish", unpublish)) if on]
    plan = service.plan(_selection(service, user, query, facets, ids), ops, user=user)
    _show(plan)
    if do_apply and not preview:
        job_id = service.start(plan, user=user, why=why)
        click.echo(f"job {job_id}")
        _run(service, job_id, user)
    else:
        click.echo("preview only: add --apply to write these changes")


@bulk.command("undo")
@click.argument("job_id")
@click.option("--why", default="")
@click.pass_context
def undo(ctx, job_id, why):
    """Undo a bulk job as new versions (items changed since are reported, not overwritten)."""
    service, user = ctx.obj.fangzhi.bulk, ctx.obj.user
    new_job = service.undo(job_id, user=user, why=why)
    click.echo(f"job {new_job} undoes {job_id}")
    _run(service, new_job, user)


@bulk.command("export")
@click.option("--query", default="", help="The items this search finds.")
@click.option("--ids", default=None, help="These item ids.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The file to write: .xlsx (Excel) or .csv.")
@click.pass_context
def export(ctx, query, ids, output):
    """Write the items as a spreadsheet in the manifest template's columns, to edit and update."""
    from ingest.sources.update_sheet import export_rows, write_csv, write_xlsx

    fz, user = ctx.obj.fangzhi, ctx.obj.user
    selected = _selection(fz.bulk, user, query, (), ids)
    rows = export_rows(fz.archive.get_item(i, user=user) for i in selected)
    output.write_bytes(write_xlsx(rows) if output.suffix.lower() == ".xlsx" else write_csv(rows))
    click.echo(f"{len(rows) - 1} items written to {output}")


@bulk.command("update")
@click.argument("sheet", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--apply", "do_apply", is_flag=True, help="Write the changes (default: only preview them).")
@click.option("--why", default="")
@click.pass_context
def update(ctx, sheet, do_apply, why):
    """Update items from an edited export: by id, only the changed cells, stale rows refused."""
    from ingest.errors import IngestError
    from ingest.sources.update_sheet import plan_update

    fz, user = ctx.obj.fangzhi, ctx.obj.user
    try:
        plan = plan_update(sheet, fz.archive, fz.bulk, user)
    except IngestError as exc:
        raise click.ClickException(str(exc)) from None
    _show(plan)
    if do_apply and plan.changes:
        job_id = fz.bulk.start(plan, user=user, why=why or f"update from {sheet.name}", kind="update")
        click.echo(f"job {job_id}")
        _run(fz.bulk, job_id, user)

