"""License keys: 25 random characters of an unambiguous alphabet, in five groups of five."""

import secrets

import sqlalchemy as sa

# No 0/O, 1/I/L: nothing a customer can misread when typing a key from paper.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
GROUPS = 5
GROUP_LENGTH = 5
MASK = "•" * GROUP_LENGTH


def generate() -> str:
    characters = "".join(secrets.choice(ALPHABET) for _ in range(GROUPS * GROUP_LENGTH))
    return "-".join(
        characters[start : start + GROUP_LENGTH]
        for start in range(0, len(characters), GROUP_LENGTH)
    )


def mask(key: str) -> str:
    first, *rest = key.split("-")
    return "-".join([first, *(MASK for _ in rest)])


def masked_in_sql(column) -> sa.ColumnElement[str]:
    """`mask(key)` computed by the database, so that a list never loads the full keys."""
    return sa.func.substr(column, 1, GROUP_LENGTH) + ("-" + MASK) * (GROUPS - 1)
