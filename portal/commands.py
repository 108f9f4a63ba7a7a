"""What every command of the portal shares: one-line refusals, English, dates, and one commit.

Every command refuses bad input with one line on standard error and a non-zero exit; an `add`
command prints the new object's id alone on standard output. A command's work commits once, when
it finishes without error (`portal.transaction.step`); a command that works in batches commits
each batch as its own step.
"""

from datetime import date

import click
from flask import current_app
from flask.cli import AppGroup, ScriptInfo

from portal import transaction
from portal.i18n import force_language
from portal.refusals import Refusal

# Commands speak English: their messages are for operators, and no browser chooses a language.
CLI_LANGUAGE = "en"
# The actor audit events name for changes made on the command line.
CLI_ACTOR = "cli"


class OneLineCommand(click.Command):
    """Turn click's usage errors (several lines with the usage text) into one line.

    The command runs in the app context with the locale fixed to English, so that translated
    messages (a refusal, the password policy) can be rendered without an HTTP request. A
    `Refusal` that escapes the command becomes its one line on standard error.
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
        with force_language(CLI_LANGUAGE):
            try:
                with transaction.step():
                    return super().invoke(ctx)
            except Refusal as refusal:
                fail(str(refusal))


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
