"""Sending one message: over SMTP, or printed to the console in development."""

import smtplib
import sys
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

SMTP_TIMEOUT_SECONDS = 10


class MailTransportError(RuntimeError):
    pass


def send(mail_url: str, message: EmailMessage) -> None:
    if mail_url == "console":
        print(f"--- mail ---\n{message}\n--- end of mail ---", file=sys.stderr, flush=True)
        return
    url = urlsplit(mail_url)
    if url.scheme not in {"smtp", "smtps"} or not url.hostname:
        raise MailTransportError(f"unsupported PORTAL_MAIL_URL {mail_url!r}")
    smtp_class = smtplib.SMTP_SSL if url.scheme == "smtps" else smtplib.SMTP
    default_port = 465 if url.scheme == "smtps" else 25
    try:
        with smtp_class(
            url.hostname, url.port or default_port, timeout=SMTP_TIMEOUT_SECONDS
        ) as smtp:
            if url.username:
                smtp.login(unquote(url.username), unquote(url.password or ""))
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        raise MailTransportError(str(error) or type(error).__name__) from error
