"""The admin API (upload, delete, reindex, jobs) and the /admin page. Every API route
needs the admin bearer token; the page itself is static and asks for the token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, render_template, request
from flask_limiter import Limiter
from werkzeug.exceptions import RequestEntityTooLarge

from service.indexing import uploads
from service.indexing.job_runner import JobRunner, SubprocessBuild
from service.indexing.self_repair import SelfRepair
from service.indexing.uploads import StagedFile, UploadRejected
from service.indexing.webhook import build_announcer
from service.store import DiskFull, IndexNotReady
from service.store.disk import check_room
from service.store.jobs import JobStore
from service.web.access import require_admin
from service.web.bodies import has_body, read_body
from service.web.errors import ApiError
from service.web.paging import DEFAULT_LIMIT, encode_cursor, page_limit, read_cursor
from service.web.renames import job_out
from service.web.upload_form import flag, too_large_message, upload_metadata
from service.web.versions import V1_BLUEPRINTS, V1_PREFIX, api_path, is_v1, unversioned_endpoint

api = Blueprint("admin_api", __name__, url_prefix="/api")
page = Blueprint("admin", __name__)

MIB = 1024 * 1024
INTAKE_LOCK = "intake.lock"  # beside jobs.lock, outside the corpus the builders read



def init_app(app: Flask, limiter: Limiter) -> None:
    """Register the blueprints and this process's job runner."""
    index_dir = Path(app.config["INDEX_DIR"])
    build = app.config["JOB_BUILDER"] or SubprocessBuild(app.config)
    runner = JobRunner(JobStore(index_dir), index_dir, build,
                       on_build_end=build_announcer(app.config))
    app.extensions["plansearch_jobs"] = runner
    # no usable generation left (damage): one full rebuild, queued by the server itself
    app.extensions["plansearch"].repair = SelfRepair(runner, app.config["JOB_RUNNER_THREAD"])
    # one count per endpoint, whether it is called on /api/... or /api/v1/...
    limiter.shared_limit(app.config["RATE_LIMIT_ADMIN"], scope=unversioned_endpoint)(api)
    app.register_blueprint(api)
    app.register_blueprint(api, name=V1_BLUEPRINTS["admin_api"], url_prefix=V1_PREFIX)
    app.register_blueprint(page)
    if app.config["JOB_RUNNER_THREAD"]:
        # started on a worker's first request: threads don't survive gunicorn's fork
        app.before_request(runner.ensure_started)


def runner() -> JobRunner:
    job_runner: JobRunner = current_app.extensions["plansearch_jobs"]
    return job_runner


@api.before_request
def authenticate() -> None:
    require_admin()


@api.after_request
def no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@page.get("/admin")
def admin_page() -> str:
    return render_template("admin.html")


@api.post("/documents")
def upload() -> tuple[Response, int]:
    limit_mb = int(current_app.config["MAX_UPLOAD_MB"])
    request.max_content_length = limit_mb * MIB
    if request.mimetype != "multipart/form-data":
        raise ApiError(415, "send the files as multipart/form-data (e.g. curl -F file=@plan.pdf)")
    try:
        files = [f for key in request.files for f in request.files.getlist(key)]
        form = request.form
    except RequestEntityTooLarge as error:
        raise ApiError(413, too_large_message(error, limit_mb)) from None
    if not files:
        raise ApiError(400, "no file in the upload; send one or more `file` fields",
                       "invalid_upload")
    meta, replace = upload_metadata(form, len(files)), flag(form.get("replace"), "replace")
    corpus = Path(current_app.config["CORPUS_DIR"])
    check_disk_room(request.content_length or 0)
    staged: list[StagedFile] = []
    try:
        for item in files:
            staged.append(uploads.stage(item.stream, item.filename or "", corpus))
        # copying and hashing happen outside the lock; only the decision is serialised
        with uploads.intake_lock(Path(current_app.config["INDEX_DIR"]) / INTAKE_LOCK):
            return accept(staged, corpus, replace, meta)
    except UploadRejected as error:
        raise ApiError(error.status, str(error), error.code) from None
    finally:
        uploads.discard(staged)  # whatever was not moved into place


def check_disk_room(upload_bytes: int | None = None) -> None:
    """507 before anything is written or moved: an upload must leave the reserve free on
    the corpus disk, and the index disk (the job, then its build) must be above it."""
    reserve = int(current_app.config["DISK_MIN_FREE_MB"]) * MIB
    if upload_bytes is not None:
        check_room(Path(current_app.config["CORPUS_DIR"]), upload_bytes, reserve)
    check_room(Path(current_app.config["INDEX_DIR"]), 0, reserve)


def accept(staged: list[StagedFile], corpus: Path, replace: bool, meta: dict[str, str]
           ) -> tuple[Response, int]:
    """Answer duplicates from the index, write the rest and queue one job for them.
    Called under the intake lock: the job that makes these bytes a pending upload must
    exist before the next upload looks for one."""
    described, fresh, job_id = classify(staged)
    uploads.check_collisions(fresh, corpus, replace)
    committed: list[StagedFile] = []
    new_names = [item.name for item in fresh if not (corpus / item.name).exists()]
    try:
        for item in fresh:
            uploads.commit(item, corpus, replace, meta)
            committed.append(item)
    finally:
        # a racing upload of the same name can still win between the check and the
        # link: whatever did land in the corpus gets its job all the same
        if committed:
            job_id = queue_upload(committed, corpus, new_names)
    described = [{**e, "job_id": job_id} if e["status"] == "queued" else e for e in described]
    body = {"status": "queued" if fresh else "duplicate", "job_id": job_id,
            "job_url": api_path(f"/jobs/{job_id}") if job_id else None,
            "document_id": described[0]["document_id"] if len(described) == 1 else None,
            "files": described}
    return jsonify(job_out(body)), 202 if fresh else 200


def classify(staged: list[StagedFile]
             ) -> tuple[list[dict[str, Any]], list[StagedFile], str | None]:
    """(each file described, the files not already indexed or queued, a queued job that
    already holds some of these bytes)."""
    indexed = indexed_by_sha256()
    described, fresh, pending_job = [], [], None
    for item in staged:
        entry = item.describe()
        pending = runner().store.pending_upload(item.sha256)
        if item.sha256 in indexed:
            described.append({**entry, "status": "duplicate", "document_id": indexed[item.sha256]})
        elif pending is not None:
            pending_job = pending[0]["id"]
            described.append({**entry, "status": "duplicate", "job_id": pending_job,
                              "document_id": pending[1]["document_id"]})
        else:
            described.append({**entry, "status": "queued"})
            fresh.append(item)
    return described, fresh, pending_job


def queue_upload(committed: list[StagedFile], corpus: Path, new_names: list[str]) -> str:
    try:
        job_id: str = runner().store.create("upload",
                                            [item.describe() for item in committed])["id"]
    except DiskFull:
        # no job would ever index them: take the new files back out (a 507 writes nothing)
        uploads.withdraw(corpus, [i.name for i in committed if i.name in new_names])
        raise
    runner().notify()
    return job_id


def indexed_by_sha256() -> dict[str, str]:
    try:
        generation = current_app.extensions["plansearch"].searcher().generation
    except IndexNotReady:
        return {}  # nothing indexed yet, so nothing can be a duplicate
    return {d.sha256: d.id for d in generation.documents()}


def corpus_path(doc_id: str, corpus: Path) -> str | None:
    """The corpus path of the indexed document, else of a file in the corpus that has that
    id but no place in the index (it failed to index, or its upload job hasn't run yet)."""
    try:
        document = current_app.extensions["plansearch"].searcher().generation.document(doc_id)
    except IndexNotReady:
        document = None
    path: str | None = document.path if document is not None else \
        uploads.corpus_ids(corpus).get(doc_id)
    return path


@api.delete("/documents/<doc_id>")
def delete_document(doc_id: str) -> tuple[Response, int]:
    corpus = Path(current_app.config["CORPUS_DIR"])
    path = corpus_path(doc_id, corpus)
    if path is None:
        raise ApiError(404, f"no document with id {doc_id!r}; see {api_path('/documents')}")
    source = (corpus / path).resolve()
    if not source.is_relative_to(corpus.resolve()):
        raise ApiError(404, f"document {doc_id!r} is not in the corpus folder")
    check_disk_room()  # before the move: a job that can't be recorded would strand it
    moved = None
    if source.is_file():  # else an earlier delete moved it and its build is pending
        moved = uploads.move_to_deleted(corpus, path).relative_to(corpus).as_posix()
    job = runner().store.create("delete", [{"name": path, "document_id": doc_id,
                                            "moved_to": moved}])
    runner().notify()
    return jsonify({"status": "queued", "job_id": job["id"],
                    "job_url": api_path(f"/jobs/{job['id']}"), "document_id": doc_id,
                    "moved_to": moved}), 202


@api.post("/reindex")
def reindex() -> tuple[Response, int]:
    full = request.args.get("full")
    if has_body():  # a chunked body has no Content-Length, but counts (issue 23)
        body = request.get_json(silent=True) if request.is_json and read_body() else None
        if not isinstance(body, dict):
            raise ApiError(400, 'send no body, or a JSON object such as {"full": true}',
                           "invalid_json")
        full = body.get("full", full)
    job = runner().store.create("reindex", full=flag(full, "full"))
    runner().notify()
    return jsonify({"status": "queued", "job_id": job["id"],
                    "job_url": api_path(f"/jobs/{job['id']}")}), 202


@api.get("/jobs")
def jobs() -> Response:
    """Newest first, a page at a time (the unversioned path's page is 20 long by default)."""
    limit = page_limit(DEFAULT_LIMIT if is_v1() else 20)
    before = read_cursor("jobs", str, str)
    found = runner().store.recent(limit + 1, (before[0], before[1]) if before else None)
    last = found[limit - 1] if len(found) > limit else None
    return jsonify({"jobs": [job_out(j) for j in found[:limit]], "next_cursor": encode_cursor(
        "jobs", last["created_at"], last["id"]) if last else None})


@api.get("/jobs/<job_id>")
def job(job_id: str) -> Response:
    found = runner().store.get(job_id)
    if found is None:
        raise ApiError(404, f"no job with id {job_id!r}")
    return jsonify(job_out(found))


@api.delete("/jobs/<job_id>")
def cancel_job(job_id: str) -> tuple[Response, int]:
    """Cancel a queued job, or stop the build of a running one at its next checkpoint.
    An upload's files leave the corpus (for corpus/.deleted/), so no later build reads them."""
    found = runner().store.get(job_id)
    if found is None:
        raise ApiError(404, f"no job with id {job_id!r}")
    if found["status"] not in ("queued", "running"):
        raise ApiError(409, f"job {job_id} has already {found['status']}", "job_finished")
    if found["kind"] == "upload":
        corpus = Path(current_app.config["CORPUS_DIR"])
        for entry in found["files"]:
            source = (corpus / entry["name"]).resolve()
            if source.is_relative_to(corpus.resolve()) and source.is_file():
                uploads.move_to_deleted(corpus, entry["name"])
    status = runner().store.cancel(job_id)
    return jsonify(job_out({**(runner().store.get(job_id) or {}), "status": status})), \
        200 if status == "cancelled" else 202
