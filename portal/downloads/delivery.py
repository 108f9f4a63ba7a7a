"""Sending a release file: from S3 by a redirect, by nginx, or streamed by the portal.

Files are addressed by their id only; the store path comes from the database. With an S3
release store the answer is a redirect to a short-lived signed URL (the store does Range and
resume); with `PORTAL_DOWNLOAD_ACCEL_REDIRECT` set, nginx sends the bytes (X-Accel-Redirect) and
does Range and conditional requests itself; otherwise the portal streams the file with Range
and ETag. The downloads page and the JSON API send files the same way, and record a download
when what is sent includes the file's first byte, whatever form the Range header takes: read
from the answer when the portal sends the bytes, worked out from the range the store will serve
otherwise.
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
        # Recorded here, then the store sends the bytes (Range and resume are its job; it
        # ignores several ranges and sends the whole object).
        if _store_sends_first_byte(release_file, whole_when_several=True):
            record()
        url = release_store.download_url(release_file.storage_key, _disposition(release_file))
        return no_store(redirect(url))
    accel_prefix = current_app.config.get("PORTAL_DOWNLOAD_ACCEL_REDIRECT")
    if accel_prefix:
        # nginx sends the bytes (one range, several as multipart, or all): decided beforehand.
        if _store_sends_first_byte(release_file, whole_when_several=False):
            record()
        return _accel_redirect(release_file, accel_prefix)
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
    if _sends_first_byte(response):
        record()
    return response


def _store_sends_first_byte(release_file: ReleaseFile, *, whole_when_several: bool) -> bool:
    """Whether the store (S3, nginx) that answers this GET will send the file's first byte.

    It follows RFC 9110 as werkzeug's own `send_file` does not quite: no or an unreadable Range,
    or an If-Range that no longer matches, sends the whole file; a suffix range at least as long
    as the file sends it all too (`bytes=-N`, N >= size).
    """
    if request.method != "GET":
        return False
    asked = request.range
    if asked is None or asked.units != "bytes" or not _if_range_matches(release_file):
        return True
    if whole_when_several and len(asked.ranges) > 1:
        return True
    return any(_resolved_start(start, release_file.size) == 0 for start, _stop in asked.ranges)


def _resolved_start(start: int, size: int) -> int:
    """The first byte a range start names: a suffix `-N` starts N bytes before the end."""
    return max(size + start, 0) if start < 0 else start


def _if_range_matches(release_file: ReleaseFile) -> bool:
    if_range = request.if_range
    if if_range.etag is None and if_range.date is None:
        return True  # no If-Range: the Range header stands
    # A date cannot be checked against the store's copy: counted as the whole file it may send.
    return if_range.etag == release_file.sha256


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


def _sends_first_byte(response: Response) -> bool:
    """Read from the answer itself: a whole file (200), or a part (206) that starts at byte 0.
    Resumptions, tails, 304s, 416s and HEAD send no first byte and are not new downloads."""
    if request.method != "GET":
        return False
    if response.status_code == 200:
        return True
    content_range = response.content_range
    return response.status_code == 206 and content_range.start == 0
