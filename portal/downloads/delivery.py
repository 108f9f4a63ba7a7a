"""Sending a release file: from S3 by a redirect, by nginx, or streamed by the portal.

Files are addressed by their id only; the store path comes from the database. With an S3
release store the answer is a redirect to a short-lived signed URL (the store does Range and
resume); with `PORTAL_DOWNLOAD_ACCEL_REDIRECT` set, nginx sends the bytes (X-Accel-Redirect) and
does Range and conditional requests itself; otherwise the portal streams the file with Range
and ETag. The downloads page and the JSON API send files the same way, and record a download
at the same moment (its first byte).
"""

import unicodedata
from collections.abc import Callable
from urllib.parse import quote

from flask import Response, current_app, redirect, request, send_file
from werkzeug.http import dump_options_header

from portal.http import no_store
from portal.licenses import store
from portal.licenses.models import ReleaseFile


def deliver(release_file: ReleaseFile, record: Callable[[], None]) -> Response | None:
    """The response that sends the file, after `record()` if it starts a download; None when
    the store has lost the file (logged)."""
    release_store = store.current()
    if isinstance(release_store, store.S3Store):
        # Recorded here, then the store sends the bytes (Range and resume are its job).
        if _first_byte_asked(release_file.size):
            record()
        url = release_store.download_url(release_file.storage_key, _disposition(release_file))
        return no_store(redirect(url))
    accel_prefix = current_app.config.get("PORTAL_DOWNLOAD_ACCEL_REDIRECT")
    if accel_prefix:
        response = _accel_redirect(release_file, accel_prefix)
    else:
        path = store.path_of(release_file.storage_key)
        if not path.is_file():
            current_app.logger.error("release file %s is missing from the store", release_file.id)
            return None
        response = send_file(
            path,
            as_attachment=True,
            download_name=release_file.filename,
            conditional=True,
            etag=release_file.sha256,
        )
    if _starts_a_download(response):
        record()
    return response


def _first_byte_asked(size: int) -> bool:
    """No Range, or a range that includes the file's first byte (a suffix range may)."""
    if request.range is None:
        return True
    return any(max(size + start, 0) == 0 if start < 0 else start == 0
               for start, _stop in request.range.ranges)  # fmt: skip


def _disposition(release_file: ReleaseFile) -> str:
    return dump_options_header("attachment", _filename_options(release_file))


def _accel_redirect(release_file: ReleaseFile, prefix: str) -> Response:
    """No body: nginx serves the internal location `prefix` + storage key."""
    response = Response(b"", mimetype="application/octet-stream")
    response.headers["X-Accel-Redirect"] = prefix.rstrip("/") + "/" + release_file.storage_key
    response.headers.set("Content-Disposition", "attachment", **_filename_options(release_file))
    response.set_etag(release_file.sha256)
    return response


def _filename_options(release_file: ReleaseFile) -> dict[str, str]:
    # The same encoding `send_file` uses: ASCII `filename`, and RFC 5987 `filename*` if needed.
    name = release_file.filename
    if name.isascii():
        return {"filename": name}
    simple = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return {"filename": simple, "filename*": f"UTF-8''{quote(name, safe='!#$&+-.^_`|~')}"}


def _starts_a_download(response: Response) -> bool:
    """A GET that delivers the file's first byte; resumed ranges and 304s are not new downloads."""
    if request.method != "GET" or response.status_code not in (200, 206):
        return False
    ranges = request.range.ranges if request.range is not None else ()
    return not ranges or any(start == 0 for start, _end in ranges)
