"""One refusal type for every rule that says no: a translated message, and where it belongs.

A service raises `Refusal` before it changes anything, so the request may still commit (keeping
the audit event of a refused attempt) without committing half an action. A view shows it beside
a form field (`portal.forms.show_refusal`), as a flash, or, in the API, as `{"error": {"code",
"message"}}`; a command prints it as its one line on standard error.
"""


class Refusal(Exception):
    def __init__(self, message, *, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message  # usually a lazy_gettext string, rendered in the reader's language
        self.field = field  # the form field it belongs beside, or None for the whole form
        self.code = code  # a stable snake_case word for machines (the API, tests)

    def __str__(self) -> str:
        return str(self.message)
