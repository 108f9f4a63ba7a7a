from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal import clock
from portal.db import db


class Company(db.Model):
    __tablename__ = "companies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    org_number: Mapped[str] = mapped_column(sa.String(11), unique=True)
    # Empty while the company is a customer; the retention purge counts from this date.
    relationship_ended_on: Mapped[date | None] = mapped_column(index=True)
    created_dt: Mapped[datetime] = mapped_column(default=clock.now)

    def __repr__(self) -> str:
        return f"<Company {self.id} {self.org_number}>"
