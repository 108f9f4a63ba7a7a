"""The QR code of a TOTP enrolment: the otpauth:// link as inline SVG (segno).

Inline markup, not an image URL: the secret never travels in a second request or a cache, the
page that holds it is already `no-store`, and the SVG has no script or style attribute, so the
Content-Security-Policy (portal.http) allows it as it is.
"""

import segno
from markupsafe import Markup

MODULE_PIXELS = 4
QUIET_ZONE_MODULES = 4  # the white border scanners need


def qr_svg(link: str, label: str) -> Markup:
    """An accessible inline SVG of `link` (error correction M, as authenticator apps expect)."""
    code = segno.make(link, error="m", micro=False)
    svg = code.svg_inline(
        scale=MODULE_PIXELS,
        border=QUIET_ZONE_MODULES,
        title=label,
        svgclass="qr-code",
        lineclass=None,
        omitsize=True,
        light="#fff",
    )
    svg = svg.replace("<svg ", '<svg role="img" focusable="false" ', 1)
    return Markup(svg)  # noqa: S704  # nosec B704 # segno's own markup; it escapes the title
