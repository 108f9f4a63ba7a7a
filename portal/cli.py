"""The command line: `portal ...` and `flask --app portal ...` take the same commands.

Every command refuses bad input with one line on standard error and a non-zero exit; an `add`
command prints the new object's id alone on standard output.
"""

from datetime import date

import click
from flask import current_app
from flask.cli import AppGroup, FlaskGroup, ScriptInfo
from flask_babel import force_locale

# Commands speak English: their messages are for operators, and no browser chooses a language.
CLI_LANGUAGE = "en"


class OneLineCommand(click.Command):
    """Turn click's usage errors (several lines with the usage text) into one line.

    The command runs in the app context with the locale fixed to English, so that messages made
    with lazy_gettext (e.g. the password policy) can be rendered without an HTTP request.
    """

    def parse_args(self, ctx, args):
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as error:
            raise click.ClickException(error.format_message()) from None

    def invoke(self, ctx):
        if not current_app:
            app = ctx.ensure_object(ScriptInfo).load_app()
            ctx.with_resource(app.app_context())
        with force_locale(CLI_LANGUAGE):
            return super().invoke(ctx)


class PortalGroup(AppGroup):
    command_class = OneLineCommand


PortalGroup.group_class = PortalGroup


class IsoDate(click.ParamType):
    name = "YYYY-MM-DD"

    def convert(self, value, param, ctx):
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r} is not a date of the form YYYY-MM-DD", param, ctx)


ISO_DATE = IsoDate()


def fail(message: str) -> None:
    """Stop the command with one line on standard error and exit code 1."""
    raise click.ClickException(" ".join(str(message).split()))


def register_commands(app) -> None:
    from portal.accounts.cli import user_cli
    from portal.companies.cli import company_cli
    from portal.demo import demo_command
    from portal.licenses.cli import license_cli, release_cli
    from portal.mail.cli import mail_cli
    from portal.retention.cli import retention_cli, scheduler_command

    for command in (
        company_cli,
        user_cli,
        license_cli,
        release_cli,
        mail_cli,
        demo_command,
        retention_cli,
        scheduler_command,
    ):
        if command.name not in app.cli.commands:
            app.cli.add_command(command)


def _create_app():
    from portal import create_app

    return create_app()


main = FlaskGroup(create_app=_create_app, help="The customer license portal.")
