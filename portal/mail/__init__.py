from portal.mail.outbox import deliver_committed, queue, retry_due

__all__ = ["deliver_committed", "queue", "retry_due"]
