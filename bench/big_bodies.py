"""What an oversized anonymous post costs the portal (run by hand, not by the tests).

    .venv/bin/python bench/big_bodies.py [--megabytes 10]

Makes a standalone portal on a fresh SQLite database in a temporary folder (rate limits in
memory) and posts to `/password/forgot` with the test client, the way a browser posts the form:
an email field of `--megabytes` MB, then a 50 MB body, then the same email field again once the
per-client limit answers 429. For each it prints the status, the bytes of the answer and the CPU
time the request cost the process (time.process_time; the body is encoded before the clock starts).
"""

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from portal import create_app  # noqa: E402 (the benchmark runs as a script)
from portal.db import db  # noqa: E402


def _csrf(client) -> str:
    page = client.get("/password/forgot").get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def _post(client, label: str, data: dict) -> None:
    body = urlencode(data).encode()  # encoded before the clock starts: the portal's cost only
    started = time.process_time()
    response = client.post(
        "/password/forgot", data=body, content_type="application/x-www-form-urlencoded"
    )
    body = response.get_data()
    cpu = time.process_time() - started
    print(
        f"{label:<44} status {response.status_code}  answer {len(body):>10} bytes  cpu {cpu:6.3f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(
            {
                "PORTAL_INSTANCE_PATH": folder,
                "PORTAL_MAIL_URL": "console",
                "PORTAL_RATELIMIT_STORAGE_URL": "memory://",
            }
        )
        with app.app_context():
            db.create_all()
        client = app.test_client()
        email = "a" * (args.megabytes * 1024 * 1024) + "@example.com"
        _post(
            client,
            f"{args.megabytes} MB email field",
            {"csrf_token": _csrf(client), "email": email},
        )
        _post(client, "50 MB body", {"csrf_token": _csrf(client), "notes": "x" * 50 * 1024 * 1024})
        token = _csrf(client)
        for n in range(100):  # different addresses: the per-client limit is the one that answers
            answer = client.post(
                "/password/forgot", data={"csrf_token": token, "email": f"{n}@a.se"}
            )
            if answer.status_code == 429:
                break
        _post(
            client,
            f"{args.megabytes} MB email field, rate-limited",
            {"csrf_token": token, "email": email},
        )


if __name__ == "__main__":
    main()
