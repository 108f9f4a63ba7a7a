"""Sending one message: over SMTP, or printed to the console in development."""

import smtplib
import ssl
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
    try:
        if url.scheme == "smtps":
            # A verified certificate (smtplib's own default context checks nothing).
            smtp = smtplib.SMTP_SSL(
                url.hostname,
                url.port or 465,
                timeout=SMTP_TIMEOUT_SECONDS,
                context=ssl.create_default_context(),
            )
        else:
            smtp = smtplib.SMTP(url.hostname, url.port or 25, timeout=SMTP_TIMEOUT_SECONDS)
        with smtp:
            if url.username:
                if url.scheme == "smtp":
                    _start_tls(smtp)
                smtp.login(unquote(url.username), unquote(url.password or ""))
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        raise MailTransportError(str(error) or type(error).__name__) from error


def _start_tls(smtp: smtplib.SMTP) -> None:
    """The password never crosses the network in clear text: STARTTLS first, or no login."""
    smtp.ehlo()
    if not smtp.has_extn("starttls"):
        raise MailTransportError(
            "the SMTP server does not offer STARTTLS; the password is not sent in clear text"
        )
    smtp.starttls(context=ssl.create_default_context())
    smtp.ehlo()
