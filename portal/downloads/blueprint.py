"""Every URL of downloads: the releases a company may download, and the files."""

from flask import Blueprint

from portal.downloads import views

bp = Blueprint("downloads", __name__, url_prefix="/downloads")

bp.add_url_rule("/", view_func=views.index)
bp.add_url_rule("/files/<id:file_id>", view_func=views.file)
