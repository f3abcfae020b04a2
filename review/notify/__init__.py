"""Reaching reviewers: notifications of new pending rows, and signed action links (issue 21; no streamlit).

- outbox.py: new pending rows -> notifications in the store, once per (thread, row, route), from the change feed
- worker.py: delivery under a lease in the store (one replica sends each), retries, backoff, dead letters;
  `start_notifications(console)` runs both in a console process
- channels.py: a signed webhook, Slack (Block Kit), e-mail (SMTP, text + HTML)
- envelope.py: the webhook's JSON envelope (Slack and mail render the same)
- links.py: signed, single-use, expiring action links and their verifier
- The tables and their SQL: review/storage/outbox.py. Routing: `[[notify]]` in the policy file (review/policy.py).
"""

from review.notify.channels import DeliveryFailed, signature, verify_signature
from review.notify.links import ActionLinks, LinkGrant, LinkRefused, args_digest
from review.notify.outbox import Enqueued, Outbox
from review.notify.worker import DeliveryWorker, NotifyService, start_notifications

__all__ = [
    "ActionLinks",
    "DeliveryFailed",
    "DeliveryWorker",
    "Enqueued",
    "LinkGrant",
    "LinkRefused",
    "NotifyService",
    "Outbox",
    "args_digest",
    "signature",
    "start_notifications",
    "verify_signature",
]
