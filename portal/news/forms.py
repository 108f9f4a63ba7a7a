from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length


class NewsForm(FlaskForm):
    title = StringField(
        _l("Title"),
        validators=[DataRequired(_l("Enter a title.")), Length(max=200)],
    )
    body = TextAreaField(
        _l("Text"),
        validators=[DataRequired(_l("Enter the text of the news item.")), Length(max=5000)],
        description=_l("Plain text. An empty line starts a new paragraph."),
        render_kw={"rows": 8},
    )
