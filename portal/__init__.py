"""The customer license portal: a standalone app or a plugin for an existing Flask site."""

from portal.extension import Portal
from portal.factory import create_app

__all__ = ["Portal", "create_app"]
