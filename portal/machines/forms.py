"""Forms of the machine pages: an offline machine, an API token, and a minimum version."""

from datetime import timedelta

from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from portal import clock
from portal.forms import PortalForm, printable, strip
from portal.i18n import lazy_gettext as _l
from portal.machines import api_tokens, fields, license_files
from portal.machines.service import MachineReport
from portal.refusals import Refusal


def follows(rule: fields.Field, message):
    """A WTForms validator: the value follows the API's rule for the field (checked once)."""

    def validator(_form, field):
        if field.data and (len(field.data) > rule.max_length or not rule.matches(field.data)):
            raise ValidationError(message)

    validator.max_length = rule.max_length  # checked on the raw value first (PortalForm)
    return validator


class OfflineMachineForm(PortalForm):
    """A machine without internet: its request file, or its details typed in."""

    request_file = FileField(
        _l("Machine request file"),
        description=_l(
            "The file SafeLink writes on the machine when it cannot reach the internet. Or leave"
            " this empty and type the machine's details below."
        ),
    )
    fingerprint = StringField(
        _l("Machine fingerprint"),
        filters=[strip],
        validators=[
            Optional(),
            follows(
                fields.FINGERPRINT,
                _l("Copy the fingerprint exactly as SafeLink shows it (8 to 128 characters)."),
            ),
        ],
        description=_l("SafeLink shows it under Help → License on the machine."),
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    hostname = StringField(
        _l("Machine name"),
        filters=[strip],
        validators=[
            Optional(),
            follows(
                fields.HOSTNAME,
                _l("Use letters a–z, digits, dots, hyphens and underscores (at most 253)."),
            ),
        ],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    product_version = StringField(
        _l("Installed version"),
        filters=[strip],
        validators=[
            Optional(),
            follows(fields.PRODUCT_VERSION, _l("Write the version as numbers and dots, e.g. 6.2.")),
        ],
        description=_l("For example 6.2.1."),
        render_kw={"autocomplete": "off"},
    )

    TYPED = ("fingerprint", "hostname", "product_version")
    MISSING = {
        "fingerprint": _l("Enter the machine's fingerprint, or choose its request file."),
        "hostname": _l("Enter the machine's name."),
        "product_version": _l("Enter the installed version."),
    }

    def machine_report(self) -> MachineReport:
        """The machine described by the file, else by the typed fields; refused per field."""
        upload = self.request_file.data
        if upload is not None and getattr(upload, "filename", ""):
            data = upload.stream.read(license_files.MAX_REQUEST_FILE_BYTES + 1)
            return license_files.parse_request(data)
        for name in self.TYPED:
            if not self[name].data:
                raise Refusal(self.MISSING[name], field=name)
        return MachineReport(self.fingerprint.data, self.hostname.data, self.product_version.data)


def _default_token_expiry():
    return clock.today() + timedelta(days=90)


class ApiTokenForm(PortalForm):
    name = StringField(
        _l("Name"),
        filters=[strip],
        validators=[
            DataRequired(_l("Give the token a name that says what uses it.")),
            Length(max=api_tokens.NAME_MAX_LENGTH),
            printable,
        ],
        description=_l("What uses the token, e.g. “Deployment server”."),
    )
    licenses_read = BooleanField(api_tokens.SCOPES[api_tokens.LICENSES_READ])
    releases_download = BooleanField(api_tokens.SCOPES[api_tokens.RELEASES_DOWNLOAD])
    expires_on = DateField(
        _l("Expires on"),
        default=_default_token_expiry,
        validators=[InputRequired(_l("Choose the day the token stops working."))],
        description=_l(
            "The last day the token works, at most %(days)d days ahead.",
            days=api_tokens.MAX_LIFETIME_DAYS,
        ),
    )

    SCOPE_FIELDS = {
        "licenses_read": api_tokens.LICENSES_READ,
        "releases_download": api_tokens.RELEASES_DOWNLOAD,
    }

    def chosen_scopes(self) -> list[str]:
        return [scope for name, scope in self.SCOPE_FIELDS.items() if self[name].data]

    def validate_releases_download(self, field):
        if not self.chosen_scopes():
            raise ValidationError(_l("Choose what the token may do."))


class MinimumVersionForm(PortalForm):
    version = StringField(
        _l("Minimum version"),
        filters=[strip],
        validators=[
            DataRequired(_l("Enter the version.")),
            follows(fields.PRODUCT_VERSION, _l("Write the version as numbers and dots, e.g. 6.0.")),
        ],
        description=_l("Older versions must upgrade from the day below, e.g. 6.0."),
    )
    effective_on = DateField(
        _l("From"),
        validators=[InputRequired(_l("Enter the day the minimum takes effect."))],
        description=_l(
            "From this day validation of an older version answers “upgrade required”. Customers"
            " see their older machines on their start page before it."
        ),
    )

    def __init__(self, *args, minimum=None, **kwargs):
        super().__init__(*args, obj=minimum, **kwargs)
