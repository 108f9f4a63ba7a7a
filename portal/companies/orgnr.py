"""Swedish organisation numbers (organisationsnummer), validated with python-stdnum."""

from stdnum import exceptions
from stdnum.se import orgnr


class InvalidOrgNumber(ValueError):
    pass


def normalize(value: str) -> str:
    """Return the number as NNNNNN-NNNN, or raise InvalidOrgNumber."""
    try:
        compact = orgnr.validate(value)
    except exceptions.ValidationError:
        raise InvalidOrgNumber(value) from None
    return orgnr.format(compact)
