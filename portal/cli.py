"""The console script: `portal ...` takes the same commands as `flask --app portal ...`."""

from flask.cli import FlaskGroup

from portal.factory import create_app

main = FlaskGroup(create_app=create_app, help="The customer license portal.")
