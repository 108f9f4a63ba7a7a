"""Two-factor authentication with TOTP (RFC 6238) and single-use recovery codes.

Staff accounts must use it; customers may turn it on. The TOTP secret is sealed at rest
(`portal.sealing`, under a key derived from the secret key; `reseal_all` after a change of the
key). A staff admin can reset someone's lost second factor (`reset`): the next sign-in enrols
again, for a customer too. A code is accepted within one time step
either side of now, and never twice: the step of the last accepted code is stored, and only a
later step is accepted afterwards. Recovery codes are stored as SHA-256 hashes (they are random,
so a slow hash adds nothing) and each works once.

Plain functions that a view, a command and a job can all call; they never commit.
"""

import hashlib
import hmac
import re
import secrets
from datetime import datetime

import pyotp
import sqlalchemy as sa

from portal import audit, clock, mail, sealing
from portal.accounts import sessions
from portal.accounts.models import TOTP_SECRET_PURPOSE, Account, RecoveryCode, TwoFactorSecret
from portal.db import db
from portal.i18n import lazy_gettext as _l
from portal.refusals import Refusal

ISSUER = "Kundportalen"
SEALED_PURPOSE = TOTP_SECRET_PURPOSE
VALID_WINDOW = 1  # time steps accepted either side of the current one
RECOVERY_CODE_COUNT = 10
RECOVERY_CODE_LENGTH = 10
# No 0/o, 1/l/i: the codes are read from paper and typed by hand.
RECOVERY_CODE_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"

_TOTP_PATTERN = re.compile(r"[0-9]{6}")
_RECOVERY_PATTERN = re.compile(rf"[{RECOVERY_CODE_ALPHABET}]{{{RECOVERY_CODE_LENGTH}}}")


# --- questions -------------------------------------------------------------------------------


def secret_record(account: Account) -> TwoFactorSecret | None:
    return db.session.scalar(
        sa.select(TwoFactorSecret).where(TwoFactorSecret.account_id == account.id)
    )


def is_enabled(account: Account) -> bool:
    record = secret_record(account)
    return record is not None and record.confirmed_dt is not None


def is_required(account: Account) -> bool:
    """Staff see every company's data: they cannot sign in without a second factor. A customer
    whose second factor a staff admin reset must enrol again before signing in."""
    return account.is_staff or account.twofactor_reenrol


def enabled_since(account: Account) -> datetime | None:
    record = secret_record(account)
    return record.confirmed_dt if record is not None else None


def remaining_recovery_codes(account: Account) -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.account_id == account.id, RecoveryCode.used_dt.is_(None))
    )


def provisioning_uri(record: TwoFactorSecret, account: Account) -> str:
    """The otpauth:// URI that authenticator apps read (as a link or pasted)."""
    return pyotp.TOTP(record.secret).provisioning_uri(name=account.email, issuer_name=ISSUER)


def grouped(secret: str, size: int = 4) -> str:
    """The secret in groups of four characters, easier to type into an app by hand."""
    return " ".join(secret[i : i + size] for i in range(0, len(secret), size))


def normalize(code: str | None) -> str:
    """What people type, without spaces and dashes, lower-case: '123 456', 'abcde-fghij'."""
    return re.sub(r"[\s-]+", "", code or "").lower()


def looks_like_totp(code: str | None) -> bool:
    return _TOTP_PATTERN.fullmatch(normalize(code)) is not None


# --- enrolment -------------------------------------------------------------------------------


def start_enrolment(account: Account) -> TwoFactorSecret:
    """The unconfirmed secret to show the person, made on the first call and kept until confirmed.

    Reloading the page shows the same secret, so an app already set up keeps working.
    """
    record = secret_record(account)
    if record is not None and record.confirmed_dt is not None:
        raise Refusal(_l("Two-factor authentication is already on."), code="twofactor_on")
    if record is None:
        record = TwoFactorSecret(account_id=account.id, secret=pyotp.random_base32())
        db.session.add(record)
        db.session.flush()
    elif record.secret is None:  # sealed under a former secret key: start afresh
        record.secret = pyotp.random_base32()
        db.session.flush()
    return record


def confirm_enrolment(account: Account, code: str | None) -> list[str] | None:
    """Turn two-factor on if the code matches the unconfirmed secret.

    Returns the new recovery codes (to be shown once), or None when the code is wrong.
    """
    record = secret_record(account)
    if record is None or record.confirmed_dt is not None:
        raise Refusal(_l("There is no enrolment to confirm."), code="no_enrolment")
    if not _accept_code(record, code):
        return None
    record.confirmed_dt = clock.now()
    account.twofactor_reenrol = False
    codes = _new_recovery_codes(account)
    audit.record("2fa.enrolled", actor=account, subject=account)
    _notify(account, "enrolled")
    return codes


def disable(account: Account, *, actor=None) -> None:
    """Turn two-factor off (customers only) and forget the secret and the recovery codes."""
    if is_required(account):
        raise Refusal(
            _l("Staff accounts must keep two-factor authentication."), code="twofactor_required"
        )
    if not is_enabled(account):
        raise Refusal(_l("Two-factor authentication is not on."), code="twofactor_off")
    _delete_all(account)
    audit.record("2fa.disabled", actor=actor or account, subject=account)
    _notify(account, "disabled")


def reset(account: Account, *, actor: Account, reason: str) -> None:
    """A staff admin resets someone's lost second factor (staff or customer): the secret and
    the recovery codes are forgotten, every session ends, and the next sign-in enrols again."""
    if actor.id == account.id:
        raise Refusal(
            _l("Your own second factor is changed on your own account pages."), code="self"
        )
    if secret_record(account) is None:
        raise Refusal(_l("Two-factor authentication is not on."), code="twofactor_off")
    _delete_all(account)
    if not account.is_staff:
        account.twofactor_reenrol = True
    sessions.revoke_all(account, reason="second factor reset")
    audit.record("2fa.reset", actor=actor, subject=account, reason=reason)
    _notify(account, "reset")


_SEALED_SECRETS = sa.text("SELECT id, secret FROM twofactor_secrets ORDER BY id")
_RESEAL = sa.text("UPDATE twofactor_secrets SET secret = :secret WHERE id = :id")


def reseal_all(former_secret: bytes) -> tuple[int, int, int]:
    """Re-seal every TOTP secret under the current secret key, opening with `former_secret`
    what the current key cannot: (re-sealed, already current, opened by neither)."""
    # The sealed text as stored, past the column type that would open it.
    rows = db.session.execute(_SEALED_SECRETS).all()
    resealed = current = unreadable = 0
    for row_id, sealed in rows:
        try:
            value = sealing.reseal(sealed, TOTP_SECRET_PURPOSE, former_secret=former_secret)
        except sealing.Unsealable:
            unreadable += 1
            continue
        if value is None:
            current += 1
            continue
        db.session.execute(_RESEAL, {"id": row_id, "secret": value})
        resealed += 1
    return resealed, current, unreadable


def _notify(account: Account, change: str) -> None:
    """The owner hears of every change to their second factor, in case it was not them."""
    mail.queue(
        account.email,
        "portal/accounts/mail/twofactor_changed",
        language=account.language,
        account=account,
        change=change,
        when=clock.now(),
    )


def _delete_all(account: Account) -> None:
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.account_id == account.id))
    record = secret_record(account)
    if record is not None:
        db.session.delete(record)
    db.session.flush()


# --- checking codes --------------------------------------------------------------------------


def verify(account: Account, code: str | None) -> bool:
    """True if the code is the account's current TOTP code (±1 step) and was never used."""
    record = secret_record(account)
    if record is None or record.confirmed_dt is None:
        return False
    return _accept_code(record, code)


def _accept_code(record: TwoFactorSecret, code: str | None) -> bool:
    code = normalize(code)
    if _TOTP_PATTERN.fullmatch(code) is None or record.secret is None:
        return False
    totp = pyotp.TOTP(record.secret)
    current = totp.timecode(clock.now())
    matched = None
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        # Compare every candidate, so the time taken says nothing about which one matched.
        if hmac.compare_digest(totp.generate_otp(step), code):
            matched = step
    if matched is None:
        return False
    # One UPDATE that only succeeds for a later step: two requests racing with the same code
    # cannot both win.
    result = db.session.execute(
        sa.update(TwoFactorSecret)
        .where(
            TwoFactorSecret.id == record.id,
            sa.or_(
                TwoFactorSecret.last_used_step.is_(None),
                TwoFactorSecret.last_used_step < matched,
            ),
        )
        .values(last_used_step=matched)
    )
    return result.rowcount == 1


# --- recovery codes --------------------------------------------------------------------------


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _new_recovery_codes(account: Account) -> list[str]:
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.account_id == account.id))
    codes = [
        "".join(secrets.choice(RECOVERY_CODE_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
        for _ in range(RECOVERY_CODE_COUNT)
    ]
    db.session.add_all(RecoveryCode(account_id=account.id, code_hash=_hash(c)) for c in codes)
    db.session.flush()
    half = RECOVERY_CODE_LENGTH // 2
    return [f"{code[:half]}-{code[half:]}" for code in codes]


def regenerate_recovery_codes(account: Account) -> list[str]:
    """New recovery codes replace all the old ones, used or not. Shown once, stored hashed."""
    if not is_enabled(account):
        raise Refusal(_l("Two-factor authentication is not on."), code="twofactor_off")
    codes = _new_recovery_codes(account)
    audit.record("2fa.recovery_codes_regenerated", subject=account)
    _notify(account, "recovery_codes_regenerated")
    return codes


def use_recovery_code(account: Account, code: str | None) -> bool:
    """True once for each unused recovery code of the account; it cannot be used again."""
    code = normalize(code)
    if _RECOVERY_PATTERN.fullmatch(code) is None or not is_enabled(account):
        return False
    result = db.session.execute(
        sa.update(RecoveryCode)
        .where(
            RecoveryCode.account_id == account.id,
            RecoveryCode.code_hash == _hash(code),
            RecoveryCode.used_dt.is_(None),
        )
        .values(used_dt=clock.now())
    )
    return result.rowcount == 1


def verify_any(account: Account, code: str | None) -> str | None:
    """Check a TOTP code or a recovery code: 'totp', 'recovery_code', or None when wrong."""
    if looks_like_totp(code):
        return "totp" if verify(account, code) else None
    return "recovery_code" if use_recovery_code(account, code) else None
