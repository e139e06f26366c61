"""The `fangzhi` command line."""
from __future__ import annotations

import json
import os
import secrets
import sys
from pathlib import Path

import click

from repository.access import SYSTEM, User
from repository.errors import RepositoryError
from storage.base import StorageError


class Context:
    """The command's services, built by the composition root when a command first needs them."""

    def __init__(self, *, user: str | None = None):
        import getpass

        from fangzhi.settings import load

        self.settings = load()
        self._fangzhi = None
        # Who the command's work is recorded under (versions, jobs, audit): the operating-system
        # user, or --as NAME; it acts with the command line's full rights (issue 16).
        self.user = User(user or getpass.getuser(), SYSTEM.roles)

    @property
    def fangzhi(self):
        if self._fangzhi is None:
            from fangzhi.bootstrap import build

            self._fangzhi = build(self.settings)
        return self._fangzhi

    @property
    def archive(self):
        return self.fangzhi.archive

    @property
    def search(self):
        return self.fangzhi.search

    @property
    def accounts(self):
        return self.fangzhi.accounts


class Group(click.Group):
    """Turns archive errors into one line on stderr and exit status 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (RepositoryError, StorageError) as exc:
            click.echo(f"fangzhi: {exc}", err=True)
            sys.exit(1)


@click.group(cls=Group)
@click.option("--as", "as_user", metavar="NAME", default=None,
              help="Record the command's changes under NAME (default: the operating-system user).")
@click.pass_context
def main(ctx, as_user):
    """方志 Fangzhi — local-heritage digital archive."""
    if as_user is not None and not as_user.strip():
        raise click.BadParameter("give a name", param_hint="--as")
    ctx.obj = Context(user=as_user.strip() if as_user else None)


@main.command()
@click.option("--host", default=None, help="Address to listen on (FANGZHI_HOST).")
@click.option("--port", default=None, type=int, help="Port to listen on (FANGZHI_PORT).")
@click.option("--dev", is_flag=True, help="Flask's development server, restarting when the code changes.")
@click.pass_obj
def serve(obj, host, port, dev):
    """Serve the web site and API: gunicorn with FANGZHI_WEB_WORKERS processes of
    FANGZHI_WEB_THREADS threads (see the README's deployment guide and deploy/)."""
    settings = obj.settings
    host, port = host or settings["HOST"], port or settings["PORT"]
    if dev:
        from . import create_app

        create_app(fangzhi=obj.fangzhi).run(host=host, port=port, threaded=True, use_reloader=True)
        return
    from .serving import Server

    Server(settings, host=host, port=port).run()  # nothing built here: each worker builds its own


@main.command()
@click.pass_obj
def demo(obj):
    """Create the demo collection (idempotent)."""
    from .demo import create_demo

    created = create_demo(obj.fangzhi.ingest_context(obj.user), obj.fangzhi.runner, library=obj.settings["LIBRARY_NAME"],
                          exhibitions=obj.fangzhi.exhibitions, authorities=obj.fangzhi.authorities)
    click.echo(f"demo: {created} items created" if created else "demo: already present")
    if not any(a.has_role("admin") for a in (u.as_user() for u in obj.accounts.store.all())):
        password = secrets.token_urlsafe(12)
        obj.accounts.add_user("admin", password, ["admin"], display_name="管理员", by=obj.user)
        click.echo(f"demo: administrator 'admin' created with password {password} (shown only now; "
                   "change it at /account/password)")


def _with_progress(label: str, work) -> int:
    with click.progressbar(length=1, label=label, show_pos=True) as bar:
        def progress(done, total):
            bar.length = total
            bar.update(1)

        return work(progress)


@main.command()
@click.pass_obj
def rebuild(obj):
    """Recreate the catalog and the search index from storage alone."""
    count = _with_progress("rebuilding catalog", obj.archive.rebuild)
    click.echo(f"rebuilt the catalog from {count} objects")
    count = _with_progress("rebuilding search index", obj.search.rebuild)
    click.echo(f"rebuilt the search index from {count} items and the alliance's harvested records")


@main.group()
def database():
    """The database of operational state (setting DATABASE_URL)."""


@database.command("copy")
@click.option("--to", "url", required=True, metavar="URL",
              help="A new, empty database: postgresql+psycopg://USER:PASSWORD@HOST/NAME (or sqlite:///PATH).")
@click.pass_obj
def database_copy(obj, url):
    """Copy every table of the current database (FANGZHI_DATABASE_URL, by default
    DATA_DIR/fangzhi.sqlite3) into a new, empty one: a library moving to PostgreSQL. Stop the
    site and the workers first; afterwards set FANGZHI_DATABASE_URL to URL."""
    from sqlalchemy.exc import SQLAlchemyError

    from storage.adopt import copy_database
    from storage.database import Database, DatabaseError

    try:
        target = Database(url)
    except (DatabaseError, SQLAlchemyError) as exc:
        raise click.BadParameter(str(exc).splitlines()[0], param_hint="--to") from None
    try:
        counts = copy_database(obj.fangzhi.database, target)
    except DatabaseError as exc:
        click.echo(f"fangzhi: --to {exc}", err=True)
        sys.exit(1)
    finally:
        target.dispose()
    click.echo(f"copied {sum(counts.values())} rows of {len(counts)} tables into {target.url.render_as_string()}; "
               "now set FANGZHI_DATABASE_URL to it")


@main.command("mentions")
@click.pass_obj
def mentions(obj):
    """Look for names of authority records in every item's texts again (the review queue's
    proposals; staff's decisions are kept)."""
    count = _with_progress("finding mentions", obj.fangzhi.mentions.rebuild)
    click.echo(f"looked for mentions in {count} items")


@main.group()
def index():
    """The search index."""


@index.command("rebuild")
@click.pass_obj
def index_rebuild(obj):
    """Re-index every item from storage (searches keep working meanwhile)."""
    count = _with_progress("rebuilding search index", obj.search.rebuild)
    click.echo(f"rebuilt the search index from {count} items")


@main.command("search")
@click.argument("query", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.option("--page", type=int, default=1)
@click.option("--sort", type=click.Choice(["relevance", "date", "-date", "title"]), default=None)
@click.pass_obj
def search_command(obj, query, as_json, page, sort):
    """Search the archive as an administrator sees it: fangzhi search 无锡 家谱."""
    from search.query import QueryError

    try:
        results = obj.search.search(" ".join(query), user=obj.user, page=page, sort=sort)
    except QueryError as exc:
        raise click.UsageError(str(exc)) from None
    if as_json:
        click.echo(json.dumps({"total": results.total, "page": results.page, "hits": [
            {"id": h.item_id, "score": round(h.score, 4), "title": h.title, "date": h.date,
             "highlights": {k: str(v) for k, v in h.highlights.items()},
             "passages": [{**p, "snippet": str(p["snippet"])} for p in h.passages]} for h in results.hits],
            "facets": results.facets}, ensure_ascii=False, indent=2))
        return
    click.echo(f"{results.total} results (page {results.page} of {results.pages})")
    for h in results.hits:
        date = h.date.get("display") or h.date.get("edtf") or ""
        click.echo(f"{h.item_id}  {h.title.get('zh') or next(iter(h.title.values()))}  {date}".rstrip())
        for p in h.passages:
            where = f"p.{p['page']}" if p.get("page") else (p.get("chapter") or "")
            click.echo(f"    {where} {_plain(p['snippet'])}")


def _plain(markup) -> str:
    """A snippet for a terminal: the marked words in 【】."""
    import html

    return html.unescape(str(markup).replace("<mark>", "【").replace("</mark>", "】"))


@main.group()
def dictionary():
    """Words the search should keep whole (place names, people, reign titles)."""


@dictionary.command("add")
@click.argument("words", nargs=-1, required=True)
@click.pass_obj
def dictionary_add(obj, words):
    """Add words: fangzhi dictionary add 清名桥 荣巷 (then run fangzhi index rebuild)."""
    _add_words(obj, list(words))


@dictionary.command("load")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_obj
def dictionary_load(obj, path):
    """Add every word of a file (one per line, jieba format: word [frequency] [tag])."""
    lines = [line.strip() for line in path.read_text(encoding="utf-8-sig").splitlines()]
    _add_words(obj, [line for line in lines if line and not line.startswith("#")])


@dictionary.command("list")
@click.pass_obj
def dictionary_list(obj):
    """The archivists' words."""
    path = obj.fangzhi.dictionary
    if path.exists():
        click.echo(path.read_text(encoding="utf-8"), nl=False)


def _add_words(obj, entries: list[str]) -> None:
    path = obj.fangzhi.dictionary
    path.parent.mkdir(parents=True, exist_ok=True)
    known = set(path.read_text(encoding="utf-8").split("\n")) if path.exists() else set()
    new = [e for e in dict.fromkeys(" ".join(e.split()) for e in entries) if e not in known]
    bad = [e for e in new if not any(ch.isalnum() for ch in e.split()[0])]
    if bad:
        raise click.UsageError(f"not a word: {bad[0]!r}")
    with path.open("a", encoding="utf-8") as f:
        f.writelines(e + "\n" for e in new)
    click.echo(f"added {len(new)} word(s) to {path}; run `fangzhi index rebuild` so existing items use them")


@main.group()
def item():
    """Look at items."""


@item.command("show")
@click.argument("item_id")
@click.option("--version", type=int, default=None, help="A past version (default: the latest).")
@click.pass_obj
def item_show(obj, item_id, version):
    """Print an item's record as JSON."""
    record = obj.archive.get_item(item_id, user=obj.user, version=version)
    out = {**record.value.to_dict(), "version": record.version, "created": record.created, "updated": record.updated}
    click.echo(json.dumps(out, ensure_ascii=False, indent=2))


@main.command()
@click.option("--digest", type=click.Choice(["sha256", "sha512"]), default="sha256",
              help="Which recorded digest to check (sha512: the OCFL manifest).")
@click.option("--schedule", is_flag=True,
              help="Check only today's share, so every file is checked within FIXITY_CYCLE_DAYS (run it nightly).")
@click.option("--cycle-days", type=click.IntRange(min=1), default=None, help="With --schedule: the cycle (FIXITY_CYCLE_DAYS).")
@click.pass_obj
def fixity(obj, digest, schedule, cycle_days):
    """Re-hash stored files against the OCFL inventories; list every failed or missing file; exit 1 if any."""
    from storage import fixity as checks

    objects = obj.archive.objects
    cycle = cycle_days or obj.settings["FIXITY_CYCLE_DAYS"]
    targets = checks.due(objects, cycle_days=cycle) if schedule else list(objects.list_objects())
    with click.progressbar(length=len(targets), label="checking fixity", show_pos=True) as bar:
        report = checks.check(objects, _counted(targets, bar), digest=digest, cycle_days=cycle if schedule else None)
    for problem in report.problems:
        click.echo(f"FIXITY FAILURE ({problem.kind}) {problem}", err=True)
    click.echo(report.summary())
    sys.exit(1 if report.problems else 0)


def _counted(items, bar):
    for item in items:
        yield item
        bar.update(1)


@main.command()
@click.argument("item_id")
@click.option("--json", "as_json", is_flag=True, help="Print the events as JSON.")
@click.option("--premis", "as_premis", is_flag=True, help="Print the events as PREMIS 3 XML.")
@click.pass_obj
def events(obj, item_id, as_json, as_premis):
    """An item's preservation events (PREMIS): ingestion, digests, format identification, safety
    checks, derivatives, fixity checks, regeneration, purge."""
    from repository.premis import premis_file, premis_xml

    found = obj.archive.preservation_events(item_id, user=obj.user)
    if as_premis:
        item = obj.archive.load_item(item_id)
        click.echo(premis_xml(item.id, [premis_file(f) for f in item.originals], found).decode(), nl=False)
    elif as_json:
        click.echo(json.dumps(found, ensure_ascii=False, indent=2))
    else:
        for e in found:
            agents = ", ".join(a["name"] for a in e["agents"])
            files = f" [{', '.join(e['files'])}]" if e.get("files") else ""
            click.echo(f"{e['at']}  {e['type']:<27} {e['outcome']:<8} {e['outcome_detail'] or e['detail']}{files}"
                       f"  ({agents})")


@main.command()
@click.option("--identify", is_flag=True, help="Identify the originals that have no PRONOM identification yet "
                                               "(a new version of each such item).")
@click.pass_obj
def formats(obj, identify):
    """Originals by PRONOM format (PUID), and every original no PRONOM signature identified."""
    from ingest.pipeline import identify_missing

    archive = obj.archive
    if identify:
        count = identify_missing(obj.fangzhi.ingest_context(obj.user), archive.item_ids())
        click.echo(f"identified the originals of {count} items")
    counts, unidentified = {}, []
    for item_id in archive.item_ids():
        for f in archive.load_item(item_id).originals:
            found = f.tech.get("pronom") or {}
            if found.get("puid"):
                key = (found["puid"], found.get("format") or "", found.get("version") or "")
                counts[key] = counts.get(key, 0) + 1
            else:
                unidentified.append((item_id, f, "not identified yet: fangzhi formats --identify" if not found
                                     else "no PRONOM signature matched"))
    for (puid, name, version), count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        click.echo(f"{count:>8}  {puid:<12} {name} {version}".rstrip())
    click.echo(f"{sum(counts.values())} originals in {len(counts)} PRONOM formats, {len(unidentified)} unidentified")
    for item_id, f, why in unidentified:
        click.echo(f"UNIDENTIFIED {item_id} {f.id} {f.path} ({f.media_type}): {why}")


@main.command()
@click.argument("source", required=False, type=click.Path(exists=True, file_okay=True, path_type=Path))
@click.option("--manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CSV or Excel manifest, one row per item (see ingest/templates/README.md).")
@click.option("--collection", default=None, help="Put every item into this collection.")
@click.option("--resume", "resume", default=None, metavar="JOB", help="Continue an interrupted job.")
@click.option("--retry", is_flag=True, help="With --resume: also try the failed entries again.")
@click.option("--workers", type=int, default=None, help="Worker processes (FANGZHI_INGEST_WORKERS).")
@click.option("--new-authorities", is_flag=True,
              help="Manifest creator/place names no authority record has become new records (else stay unlinked).")
@click.pass_obj
def ingest(obj, source, manifest, collection, resume, retry, workers, new_authorities):
    """Ingest a folder, a folder with a manifest, or a BagIt bag; or resume a job."""
    from ingest.pipeline import plan_job
    from ingest.sources import plan
    from ingest.sources.common import SourceError

    if workers:
        obj.settings["INGEST_WORKERS"] = workers  # before the services are built
    ctx = obj.fangzhi.ingest_context(obj.user)
    if resume:
        job_id = resume
        if ctx.jobs.job(job_id) is None:
            raise click.ClickException(f"no job {job_id}")
    elif source is None:
        raise click.UsageError("name a SOURCE folder or bag, or --resume JOB")
    else:
        try:
            planned = plan(source.resolve(), manifest=manifest.resolve() if manifest else None, collection=collection,
                           link=obj.fangzhi.authorities.link, create_authorities=new_authorities)
        except SourceError as exc:
            raise click.ClickException(str(exc)) from None
        job_id = plan_job(ctx, str(source.resolve()), planned,
                          options={"manifest": str(manifest) if manifest else None, "collection": collection})
        click.echo(f"job {job_id}: {len(planned)} items planned")
    states = ("pending", "failed") if retry else ("pending",)
    tasks = [(job_id, e.n) for e in ctx.jobs.entries(job_id, states)]
    if obj.settings["TASK_QUEUE"] == "celery":
        click.echo(f"{len(tasks)} entries sent to the Celery queue (FANGZHI_REDIS_URL): `fangzhi worker` processes "
                   f"take them; stopping this command leaves them there (fangzhi jobs show {job_id})", err=True)
    with click.progressbar(length=len(tasks), label=f"ingest {job_id}", show_pos=True) as bar:
        obj.fangzhi.runner.run(tasks, progress=lambda state: bar.update(1))
    report_job(ctx.jobs, job_id)


def report_job(jobs, job_id: str) -> None:
    job = jobs.job(job_id)
    from .notices import render

    for e in jobs.entries(job_id):
        notes = [e.reason] if e.state == "done" and e.reason else []
        for note in notes + [render(n, "en") for n in e.notes]:  # what the steps skipped or changed
            click.echo(f"NOTE #{e.n} {e.label}: {note}", err=True)
    for e in jobs.entries(job_id, ("failed", "duplicate")):
        where = " ".join(x for x in (e.step and f"step {e.step}", e.file and f"file {e.file}") if x)
        click.echo(f"{e.state.upper()} #{e.n} {e.label}: {where}: {e.reason}", err=True)
    counts = ", ".join(f"{job.counts.get(s, 0)} {s}" for s in ("done", "duplicate", "failed", "pending"))
    click.echo(f"job {job_id}: {counts}")
    if job.counts.get("failed") or job.counts.get("pending"):
        click.echo(f"resume with: fangzhi ingest --resume {job_id} --retry", err=True)
        sys.exit(1)


@main.group(invoke_without_command=True)
@click.pass_context
def jobs(ctx):
    """List ingest jobs (newest first)."""
    if ctx.invoked_subcommand is None:
        for job in ctx.obj.fangzhi.jobs.jobs():
            counts = " ".join(f"{k}={v}" for k, v in sorted(job.counts.items()))
            click.echo(f"{job.id}  {job.created}  {job.user:<10} {counts}  {job.source}")


@main.command()
@click.option("--concurrency", type=click.IntRange(min=1), default=None,
              help="Worker processes (FANGZHI_INGEST_WORKERS).")
@click.option("--name", default=None, help="The worker's Celery node name (default: fangzhi-PID@HOST, unique "
                                            "when several run on one machine).")
def worker(concurrency, name):
    """Run ingest tasks of the distributed queue (TASK_QUEUE=celery, broker REDIS_URL) until stopped."""
    import logging

    from celery import signals

    from fangzhi.bootstrap import celery_app
    from fangzhi.settings import load

    settings = load()
    if concurrency:
        settings["INGEST_WORKERS"] = concurrency
    app = celery_app(settings)  # each worker process builds its services on its first task

    @signals.after_setup_logger.connect(weak=False)
    def quiet(logger, loglevel, **kwargs):  # the tasks' lines; only warnings of the libraries (libvips, clients)
        logger.setLevel(max(loglevel, logging.WARNING))
        for name in ("celery", "fangzhi"):
            logging.getLogger(name).setLevel(loglevel)

    app.worker_main(["worker", "--pool=prefork", f"--concurrency={settings['INGEST_WORKERS']}", "--loglevel=INFO",
                     f"--hostname={name or f'fangzhi-{os.getpid()}@%h'}", "--without-gossip", "--without-mingle"])


@jobs.command("show")
@click.argument("job_id")
@click.pass_obj
def jobs_show(obj, job_id):
    """Every entry of a job with its state; failures name the step, file and reason; an entry
    being ingested, its worker."""
    from . import staff_text
    from .notices import render

    store = obj.fangzhi.jobs
    if store.job(job_id) is None:
        raise click.ClickException(f"no job {job_id}")
    entries = store.entries(job_id)
    working = staff_text.working(entries)
    for e in entries:
        detail = f"  step {e.step} · {e.file or ''} · {e.reason}" if e.state in ("failed", "duplicate") else ""
        detail += f"  worker {working[e.n]}" if e.n in working else ""
        click.echo(f"#{e.n:<4} {e.state:<9} {e.item_id:<14} {e.label}{detail}")
        for note in e.notes:
            click.echo(f"      note: {render(note, 'en')}")


@main.group()
def derivatives():
    """Check and regenerate derivatives."""


@derivatives.command("check")
@click.pass_obj
def derivatives_check(obj):
    """List every original missing an expected derivative; exit 1 if any."""
    from ingest.pipeline import missing_derivatives

    missing = missing_derivatives(obj.archive)
    for item_id, path, purposes in missing:
        click.echo(f"{item_id}  {path}  missing: {', '.join(sorted(purposes))}")
    click.echo(f"{len(missing)} originals missing derivatives")
    sys.exit(1 if missing else 0)


@derivatives.command("regenerate")
@click.argument("item_ids", nargs=-1)
@click.option("--all", "everything", is_flag=True, help="Every item in the archive.")
@click.pass_obj
def derivatives_regenerate(obj, item_ids, everything):
    """Rebuild derivatives from the originals (a new version per item)."""
    from ingest.pipeline import make_derivatives

    ctx = obj.fangzhi.ingest_context(obj.user)
    if everything:
        item_ids = [i.id for i in ctx.archive.list_items(user=obj.user, limit=10**9)[0]]
    if not item_ids:
        raise click.UsageError("name ITEM ids or --all")
    with click.progressbar(item_ids, label="regenerating", show_pos=True) as bar:
        for item_id in bar:
            make_derivatives(ctx, item_id, {}, why="regenerate derivatives", replace=True)
    click.echo(f"regenerated derivatives of {len(item_ids)} items")


@main.command()
@click.argument("items", nargs=-1)
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@click.option("--collection", default=None, help="Export every item of this collection.")
@click.pass_obj
def export(obj, items, dest, collection):
    """Write a BagIt bag of ITEMS (or a --collection) with their metadata to DEST."""
    from ingest.sources.export import export_bag

    item_ids = list(items)
    if collection:
        item_ids += [i.id for i in obj.archive.list_items(user=obj.user, collection=collection, limit=10**9)[0]]
    if not item_ids:
        raise click.UsageError("name ITEM ids or --collection")
    bag = export_bag(obj.archive, item_ids, dest, user=obj.user)
    click.echo(f"exported {len(item_ids)} items to {bag}")


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
def collection():
    """Collections: add, edit, move (nest and reorder), delete (when empty), list."""


def _collection_fields(title, title_en, description, description_en, visibility, embargo_until, holding_library):
    data = {}
    if title is not None or title_en is not None:
        data["title"] = {k: v for k, v in (("zh", title), ("en", title_en)) if v}
    if description is not None or description_en is not None:
        data["description"] = {k: v for k, v in (("zh", description), ("en", description_en)) if v}
    for key, value in (("visibility", visibility), ("embargo_until", embargo_until),
                       ("holding_library", holding_library)):
        if value is not None:
            data[key] = value or None
    return data


def _collection_options(command):
    for decorator in reversed([
            click.option("--title", default=None, help="Title in Chinese."),
            click.option("--title-en", default=None, help="Title in English."),
            click.option("--description", default=None, help="Description in Chinese."),
            click.option("--description-en", default=None, help="Description in English."),
            click.option("--visibility", type=click.Choice(["public", "alliance", "staff", "embargoed", "private"]),
                         default=None),
            click.option("--embargo-until", default=None, metavar="YYYY-MM-DD"),
            click.option("--holding-library", default=None),
            click.option("--why", default="", help="Why (recorded with the version).")]):
        command = decorator(command)
    return command


@collection.command("add")
@click.argument("collection_id")
@_collection_options
@click.option("--parent", default=None, help="Nest it in this collection.")
@click.option("--position", type=click.IntRange(min=0), default=None, help="Its place among its siblings (0: first).")
@click.pass_obj
def collection_add(obj, collection_id, parent, position, why, **fields):
    """Create a collection (a title is required)."""
    data = {"id": collection_id, **_collection_fields(**fields)}
    if parent:
        data["parent"] = parent
    record = obj.archive.create_collection(data, user=obj.user, why=why)
    if position is not None:
        record = obj.archive.move_collection(collection_id, parent=parent, position=position, user=obj.user, why=why)
    click.echo(f"added collection {collection_id} (version {record.version})")


@collection.command("edit")
@click.argument("collection_id")
@_collection_options
@click.pass_obj
def collection_edit(obj, collection_id, why, **fields):
    """Change a collection's title, description, visibility or holding library."""
    changes = _collection_fields(**fields)
    if not changes:
        raise click.UsageError("name at least one field to change")
    current = obj.archive.get_collection(collection_id, user=obj.user)
    for key in ("title", "description"):  # a language not given keeps its text
        if key in changes:
            changes[key] = {**getattr(current.value, key), **changes[key]}
    record = obj.archive.update_collection(collection_id, changes, expected_version=current.version,
                                           user=obj.user, why=why)
    click.echo(f"edited collection {collection_id} (version {record.version})")


@collection.command("move")
@click.argument("collection_id")
@click.option("--parent", default=None, help="The collection to nest it in.")
@click.option("--top", is_flag=True, help="Move it to the top level.")
@click.option("--position", type=click.IntRange(min=0), default=None, help="Its place among its siblings (0: first).")
@click.option("--why", default="")
@click.pass_obj
def collection_move(obj, collection_id, parent, top, position, why):
    """Nest a collection in another (or at the top level) and/or reorder it among its siblings."""
    if parent and top:
        raise click.UsageError("give --parent or --top, not both")
    if parent is None and not top:
        parent = obj.archive.get_collection(collection_id, user=obj.user).value.parent
    obj.archive.move_collection(collection_id, parent=parent, position=position, user=obj.user, why=why)
    click.echo(f"moved collection {collection_id} to {parent or 'the top level'}")


@collection.command("delete")
@click.argument("collection_id")
@click.option("--why", default="", help="Why (recorded).")
@click.pass_obj
def collection_delete(obj, collection_id, why):
    """Delete an empty collection (no items, no sub-collections)."""
    obj.archive.delete_collection(collection_id, user=obj.user, why=why)
    click.echo(f"deleted collection {collection_id}")


@collection.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def collection_list(obj, as_json):
    """Every collection as a tree, siblings in their order."""
    archive = obj.archive

    def tree(parent, depth):
        for c in archive.list_collections(user=obj.user, parent=parent):
            yield depth, c
            yield from tree(c.id, depth + 1)
    found = list(tree(None, 0))
    if as_json:
        click.echo(json.dumps([c.to_dict() for _, c in found], ensure_ascii=False, indent=2))
        return
    for depth, c in found:
        count = archive.list_items(user=obj.user, collection=c.id, limit=1)[1]
        click.echo(f"{'  ' * depth}{c.id}  {c.label('zh')}  [{c.visibility}]  {count} items")


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
    obj.accounts.add_user(username, password, roles, display_name=name, by=obj.user)
    click.echo(f"added {username} ({', '.join(roles)})" + (f" with password {password}" if generated else ""))


@user.command("list")
@click.pass_obj
def user_list(obj):
    """List users with their roles and state."""
    for a in obj.accounts.users(by=obj.user):
        state = "disabled" if a.disabled else "active"
        click.echo(f"{a.username:<20} {','.join(sorted(a.roles)):<30} {state}")


@user.command("disable")
@click.argument("username")
@click.pass_obj
def user_disable(obj, username):
    """Disable an account (its sessions end)."""
    _set_disabled(obj, username, True)


@user.command("enable")
@click.argument("username")
@click.pass_obj
def user_enable(obj, username):
    """Enable a disabled account."""
    _set_disabled(obj, username, False)


def _set_disabled(obj, username: str, disabled: bool) -> None:
    obj.accounts.set_disabled(username, disabled, by=obj.user)
    click.echo(f"{'disabled' if disabled else 'enabled'} {username}")


@user.command("set-role")
@click.argument("username")
@click.argument("roles", nargs=-1, required=True)
@click.pass_obj
def user_set_role(obj, username, roles):
    """Replace a user's roles."""
    obj.accounts.set_roles(username, roles, by=obj.user)
    click.echo(f"{username}: {', '.join(roles)}")


@main.group()
def token():
    """Manage API tokens (admin)."""


@token.command("create")
@click.argument("name")
@click.option("--scope", "scopes", multiple=True, required=True, help="read, read-alliance, read-staff or write (repeat to combine)")
@click.pass_obj
def token_create(obj, name, scopes):
    """Create a token; its secret is printed once."""
    secret, t = obj.accounts.create_token(name, scopes, by=obj.user)
    click.echo(f"token {t.id} for {name}: {secret}")


@token.command("list")
@click.pass_obj
def token_list(obj):
    for t in obj.accounts.tokens(by=obj.user):
        click.echo(f"{t.id:<4} {t.name:<24} {','.join(sorted(t.scopes)):<20} "
                   f"{'revoked' if t.revoked else 'active'}  last used {t.last_used or 'never'}")


@token.command("revoke")
@click.argument("token_id", type=int)
@click.pass_obj
def token_revoke(obj, token_id):
    obj.accounts.revoke_token(token_id, by=obj.user)
    click.echo(f"revoked token {token_id}")


@main.group()
def alliance():
    """The alliance of libraries: members whose catalogues this archive harvests."""


@alliance.command("add")
@click.argument("name")
@click.option("--oai", "oai_url", required=True, help="The member's OAI-PMH base URL (a Fangzhi member: https://…/oai).")
@click.option("--api", "api_url", default=None, help="The member's Fangzhi address, for live search and IIIF "
              "Change Discovery (default: the OAI URL without /oai; none for other repositories).")
@click.option("--token", default=None, help="The token the member gave us (scope read-alliance on their side).")
@click.option("--label-zh", default="", help="The member's name in Chinese (default: NAME).")
@click.option("--label-en", default="", help="The member's name in English.")
@click.pass_obj
def alliance_add(obj, name, oai_url, api_url, token, label_zh, label_en):
    """Register a member library; `fangzhi alliance harvest NAME` then reads its catalogue."""
    from alliance.members import Member

    m = obj.fangzhi.members.add(Member(name, oai_url, api_url=api_url, token=token, label_zh=label_zh,
                                       label_en=label_en))
    click.echo(f"added member {m.name}: OAI-PMH {m.oai_url}" + (f", Fangzhi {m.api_url}" if m.api_url else ""))


@alliance.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the members and their status as JSON (no tokens).")
@click.pass_obj
def alliance_list(obj, as_json):
    """The members and how their last harvest went."""
    members = obj.fangzhi.members.list()
    if as_json:
        click.echo(json.dumps([{**m.public, "error": _english(m.error) or None, "has_token": bool(m.token)}
                               for m in members], ensure_ascii=False, indent=2))
        return
    for m in members:
        click.echo(f"{m.name:<16} {m.label_zh} / {m.label_en}  {m.oai_url}{'  (token)' if m.token else ''}")
        click.echo(f"{'':<16} records {m.records}, last success {m.last_success or 'never'}, "
                   f"last attempt {m.last_attempt or 'never'}" + (f", error: {_english(m.error)}" if m.error else ""))


@alliance.command("remove")
@click.argument("name")
@click.pass_obj
def alliance_remove(obj, name):
    """Take a member out of the alliance, with its harvested records."""
    from alliance.harvest import remove_member

    h = obj.fangzhi.harvester
    remove_member(h.members, h.store, h.union, name)
    click.echo(f"removed member {name}")


@alliance.command("harvest")
@click.argument("names", nargs=-1)
@click.pass_obj
def alliance_harvest(obj, names):
    """Harvest the members (default: all) in parallel; exit 1 if any failed."""
    outcomes = obj.fangzhi.harvester.harvest(list(names))
    for o in outcomes:
        state = "ok" if o.ok else "FAILED"
        click.echo(f"{o.member:<16} {state:<6} {o.records} records ({o.changed} new or changed, {o.deleted} deleted) "
                   f"in {o.seconds:.1f} s" + (f": {_english(o.error)}" if o.error else ""))
    if any(not o.ok for o in outcomes):
        sys.exit(1)


def _english(error: str | None) -> str:
    """A stored harvest error in English (the command line's language)."""
    from babel.support import Translations

    from alliance.records import error_text

    return error_text(error, Translations.load(Path(__file__).parent / "translations", ["en"]).gettext)


from .bulk_cli import bulk  # noqa: E402 - `fangzhi bulk`
main.add_command(bulk)
@main.group()
def exhibition():
    """Exhibitions: list them, export one as JSON, import one (a new version)."""


@exhibition.command("list")
@click.pass_obj
def exhibition_list(obj):
    """Every exhibition: id, status, latest version, published version, title."""
    for row in obj.fangzhi.exhibitions.all(user=obj.user):
        click.echo(f"{row['id']}\t{row['status']}\tv{row['head']}\t"
                   f"{'v' + str(row['published_version']) if row['published_version'] else '-'}\t"
                   f"{row['title'].get('zh') or next(iter(row['title'].values()), '')}")


@exhibition.command("export")
@click.argument("ident")
@click.option("--version", type=int, default=None, help="A past version (default: the latest).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file (default: standard output).")
@click.pass_obj
def exhibition_export(obj, ident, version, output):
    """An exhibition as JSON (what `fangzhi exhibition import` reads)."""
    exhibition, _record = obj.fangzhi.exhibitions.get(ident, user=obj.user, version=version)
    text = json.dumps(exhibition.to_dict(), ensure_ascii=False, indent=2)
    if output:
        output.write_text(text + "\n", encoding="utf-8")
    else:
        click.echo(text)


@exhibition.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--why", default="", help="Why (kept in the version).")
@click.option("--publish", is_flag=True, help="Publish it as well.")
@click.pass_obj
def exhibition_import(obj, path, why, publish):
    """Store an exhibition from a JSON file as its next version (a draft, unless --publish)."""
    from exhibitions.model import ExhibitionError

    from .notices import catalog

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise click.ClickException(f"{path}: not JSON ({exc})") from None
    exhibitions = obj.fangzhi.exhibitions
    ident = data.get("id") if isinstance(data, dict) else None
    try:
        head = exhibitions.get(ident, user=obj.user)[1].version if isinstance(ident, str) and ident else 0
    except RepositoryError:  # a new one
        head = 0
    try:
        saved = exhibitions.save(data, user=obj.user, expected_version=head, why=why or f"imported from {path.name}")
    except ExhibitionError as exc:
        english = catalog("en")
        raise click.ClickException("; ".join(f"{path.name}: {field}: {english.gettext(m) % v}"
                                             for field, m, v in exc.raw)) from None
    if publish:
        saved = exhibitions.publish(data["id"], user=obj.user, expected_version=saved.version, why=why)
    click.echo(f"exhibition {data['id']}: version {saved.version}{' published' if publish else ' (draft)'}")
@main.group()
def authority():
    """The authority file: people, families, organisations, places."""


@authority.command("import")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--cbdb", is_flag=True, help="SOURCE is a folder of CBDB-style tables (BIOG_MAIN.csv, ALTNAME_DATA.csv …).")
@click.option("--why", default="", help="Why: kept in every record's new version.")
@click.pass_obj
def authority_import(obj, source, cbdb, why):
    """Load records from the CSV/Excel template (`fangzhi authority template`) or a CBDB extract;
    the whole file is checked first and one problem stores nothing."""
    from authority import bulk

    auth = obj.fangzhi.authorities
    try:
        result = (bulk.import_cbdb(auth, source, user=obj.user, why=why) if cbdb
                  else bulk.import_sheet(auth, source, user=obj.user, why=why))
    except bulk.ImportRefused as exc:
        for where, problem in exc.problems:
            click.echo(f"{where}: {problem}", err=True)
        raise click.ClickException(f"{len(exc.problems)} problem(s): nothing was imported") from None
    click.echo(f"{result['created']} created, {result['updated']} updated, {result['unchanged']} unchanged")


@authority.command("export")
@click.argument("dest", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--kind", type=click.Choice(["person", "family", "organization", "place"]), default=None)
@click.pass_obj
def authority_export(obj, dest, kind):
    """Write every current record as the template's rows (.xlsx, else CSV): it imports again as it is."""
    from authority import bulk

    click.echo(f"{bulk.write_export(obj.fangzhi.authorities, dest, kind)} records written to {dest}")


@authority.command("template")
@click.argument("dest", type=click.Path(dir_okay=False, path_type=Path))
def authority_template(dest):
    """Write the import template with zh/en headers and two example rows (.xlsx, else CSV)."""
    from authority import bulk

    click.echo(f"wrote {bulk.write_template(dest)}")


@authority.command("merge")
@click.argument("survivor")
@click.argument("merged")
@click.option("--why", required=True, help="Why the two records are one (kept in both records' history).")
@click.pass_obj
def authority_merge(obj, survivor, merged, why):
    """Merge record MERGED into SURVIVOR: both ids stay, MERGED redirects; refused when their
    external identifiers (CBDB, VIAF, Wikidata …) disagree."""
    record = obj.fangzhi.authorities.merge(survivor, merged, user=obj.user, why=why)
    click.echo(f"{merged} merged into {survivor} (version {record.version})")


@authority.command("show")
@click.argument("rid")
@click.pass_obj
def authority_show(obj, rid):
    """A record as stored, with its versions (who, when, why)."""
    auth = obj.fangzhi.authorities
    record = auth.get(rid)
    click.echo(json.dumps({**record.value.to_dict(), "version": record.version, "merged_ids": auth.ids(rid)[1:],
                           "versions": [{"version": v.number, "created": v.created, "user": v.user,
                                         "message": v.message} for v in auth.history(rid, user=obj.user)]},
                          ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
