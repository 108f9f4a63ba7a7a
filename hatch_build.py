"""Compile the Babel catalogs into the wheel, so that an installed portal speaks Swedish."""

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CompileCatalogs(BuildHookInterface):
    def initialize(self, version, build_data):
        for po_path in Path(self.root, "portal", "translations").glob("*/LC_MESSAGES/*.po"):
            with po_path.open("rb") as po_file:
                catalog = read_po(po_file)
            mo_path = po_path.with_suffix(".mo")
            with mo_path.open("wb") as mo_file:
                write_mo(mo_file, catalog)
            build_data["artifacts"].append(str(mo_path.relative_to(self.root)))
