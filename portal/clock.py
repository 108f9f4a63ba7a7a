"""The portal's one source of "now", so that tests and audits can set the time.

Column defaults hold a reference to `now`, so the override lives inside this module rather
than in a monkeypatched attribute.
"""

from datetime import UTC, date, datetime, timedelta

_frozen: datetime | None = None


def now() -> datetime:
    return _frozen if _frozen is not None else datetime.now(UTC)


def today() -> date:
    return now().date()


def freeze(moment: datetime | None) -> None:
    """Stop the clock at `moment` (an aware datetime); None lets it run again."""
    global _frozen
    if moment is not None and moment.tzinfo is None:
        raise ValueError("freeze() takes an aware datetime")
    _frozen = moment


def advance(delta: timedelta) -> datetime:
    if _frozen is None:
        raise RuntimeError("advance() needs a frozen clock")
    freeze(_frozen + delta)
    return _frozen
