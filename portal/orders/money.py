"""Money in whole öre (integers), never floats: the VAT rule and the Swedish way of writing SEK.

Every amount of the portal is an `int` of öre (1 kr = 100 öre). Prices are entered by staff as
text ("1 234,50") and parsed here digit by digit; VAT is computed with integer arithmetic; and
one function writes an amount the Swedish way ("1 234,50 kr", with no-break spaces).
"""

import re

VAT_PERCENT = 25
ORE_PER_KRONA = 100
# A no-break space groups the thousands and keeps the amount and "kr" on one line.
NBSP = "\u00a0"
MAX_PRICE_ORE = 100_000_000_00  # 100 million kronor: above that an entry is a typing mistake

_AMOUNT = re.compile(r"^(?P<kronor>\d{1,12})(?:[,.](?P<ore>\d{1,2}))?$")


class InvalidAmount(ValueError):
    """The text is not an amount of kronor with at most two decimals."""


def _require_int(value) -> int:
    # bool is an int too, and a float must never slip into an amount.
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"amounts are whole öre (int), not {type(value).__name__}")
    return value


def vat(net_ore: int) -> int:
    """The VAT on a net amount, rounded to the nearest öre (half an öre upwards)."""
    net_ore = _require_int(net_ore)
    return (net_ore * VAT_PERCENT + 50) // 100


def line_amount(unit_price_ore: int, quantity: int) -> int:
    return _require_int(unit_price_ore) * _require_int(quantity)


def format_sek(ore: int) -> str:
    """`123450` → "1 234,50 kr" (no-break spaces); negative amounts keep their minus sign."""
    ore = _require_int(ore)
    sign = "−" if ore < 0 else ""
    kronor, rest = divmod(abs(ore), ORE_PER_KRONA)
    grouped = f"{kronor:,}".replace(",", NBSP)
    return f"{sign}{grouped},{rest:02d}{NBSP}kr"


def format_plain(ore: int) -> str:
    """`123450` → "1234,50": what a form field shows and what `parse_sek` reads back."""
    ore = _require_int(ore)
    kronor, rest = divmod(ore, ORE_PER_KRONA)
    return f"{kronor},{rest:02d}"


def parse_sek(text: str) -> int:
    """ "1 234,50", "1234.5", "1234 kr" → öre; refuses anything else (no float on the way)."""
    cleaned = (text or "").strip()
    if cleaned.lower().endswith("kr"):
        cleaned = cleaned[:-2].strip()
    for space in (" ", NBSP, "\u202f", "\u2009"):
        cleaned = cleaned.replace(space, "")
    match = _AMOUNT.match(cleaned)
    if match is None:
        raise InvalidAmount(text)
    ore_digits = (match.group("ore") or "0").ljust(2, "0")
    amount = int(match.group("kronor")) * ORE_PER_KRONA + int(ore_digits)
    if amount > MAX_PRICE_ORE:
        raise InvalidAmount(text)
    return amount
