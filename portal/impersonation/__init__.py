"""Support views the portal as a customer: read-only, with a reason, time-limited and audited.

`models.Impersonation` is the state (one row per view, kept as history); `service` holds the
rules (who may start, the reason, the ending); `views` has the Stop button's endpoint. The session
loader (`portal.accounts.sessions.load_account`) asks the service which account a request acts
as, and `portal.access.enforce` keeps the view read-only.
"""
