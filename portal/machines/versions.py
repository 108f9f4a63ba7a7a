"""Product versions as SafeLink reports them: up to four dot-separated numbers, e.g. `6.2.1`.

A version is compared by its numbers (`6.10` is newer than `6.9`). The database compares
`sort_key`, a string that orders the same way, so that lists of machines below a product's
minimum version are asked in SQL.
"""

import re

MAX_PARTS = 4
PART_DIGITS = 6
PATTERN = rf"[0-9]{{1,{PART_DIGITS}}}(\.[0-9]{{1,{PART_DIGITS}}}){{0,{MAX_PARTS - 1}}}"
MAX_LENGTH = MAX_PARTS * (PART_DIGITS + 1) - 1
SORT_KEY_LENGTH = MAX_PARTS * (PART_DIGITS + 1) - 1

_VERSION = re.compile(PATTERN)


def is_version(text: str) -> bool:
    return _VERSION.fullmatch(text) is not None


def parts(version: str) -> tuple[int, ...]:
    """The numbers of a version, padded with zeros (`6.2` and `6.2.0` are the same version)."""
    if not is_version(version):
        raise ValueError(f"not a version: {version!r}")
    numbers = [int(part) for part in version.split(".")]
    return tuple(numbers + [0] * (MAX_PARTS - len(numbers)))


def sort_key(version: str) -> str:
    """A string that sorts like the version: `6.2` -> `000006.000002.000000.000000`."""
    return ".".join(f"{number:0{PART_DIGITS}d}" for number in parts(version))


def is_older(version: str, than: str) -> bool:
    return parts(version) < parts(than)


def from_sort_key(key: str) -> str:
    """The version a `sort_key` stands for, without trailing zeros (down to two numbers)."""
    numbers = [int(part) for part in key.split(".")]
    while len(numbers) > 2 and numbers[-1] == 0:
        numbers.pop()
    return ".".join(str(number) for number in numbers)
