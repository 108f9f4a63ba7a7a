from portal.mail.outbox import Secret, deliver_due, queue

__all__ = ["Secret", "deliver_due", "queue"]
