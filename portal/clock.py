"""The portal's one source of "now", so that tests and audits can set the time.

Column defaults hold a reference to `now`, so the override lives inside this module rather
than in a monkeypatched attribute.
"""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

# The vendor and its customers live by the Swedish calendar: a license valid until a date is
# valid until midnight in Stockholm, and "today" is the day there.
LOCAL_TIMEZONE = ZoneInfo("Europe/Stockholm")

_frozen: datetime | None = None


def now() -> datetime:
    return _frozen if _frozen is not None else datetime.now(UTC)


def today() -> date:
    """Today's date in Stockholm."""
    return now().astimezone(LOCAL_TIMEZONE).date()


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
