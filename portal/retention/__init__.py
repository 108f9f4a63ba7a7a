"""Retention: the purge of login accounts after the customer relationship, and the scheduler.

`purge.purge` is the one function the daily job, the `portal retention purge` command and the
tests call. `scheduler` runs every periodic job of the portal in one process at a time, guarded
by a lease row (`lease`).
"""
