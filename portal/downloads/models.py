from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal import clock
from portal.db import db
from portal.licenses.models import ReleaseFile


class DownloadRecord(db.Model):
    """One download of a release file by an account of a company.

    The account is nulled when the retention purge removes it; the company's record stays.
    """

    __tablename__ = "download_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id", ondelete="CASCADE"))
    # Support downloading while viewing the portal as the account (see portal.impersonation).
    impersonator_account_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    release_file_id: Mapped[int] = mapped_column(
        sa.ForeignKey("release_files.id", ondelete="RESTRICT"), index=True
    )
    downloaded_dt: Mapped[datetime] = mapped_column(default=clock.now)

    release_file: Mapped[ReleaseFile] = relationship()

    __table_args__ = (sa.Index("ix_download_records_company_dt", "company_id", "downloaded_dt"),)
