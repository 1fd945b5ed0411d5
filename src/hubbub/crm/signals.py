"""What the CRM tells the apps above it. crm sits below ingest in the app tree, so it never touches ingest's
tables: it sends these signals, and ingest subscribes in its `AppConfig.ready`. Receivers run inside the
sender's transaction, so what they write commits or rolls back with the change they react to."""

from __future__ import annotations

from django.dispatch import Signal

# organization_id: int, customer_id: int, message_keys: list[tuple[str, str]] — a customer's personal data was
# erased on request (GDPR); message_keys are the (network, external id) of the messages their linked profiles
# wrote, so the copies kept elsewhere (ingest's raw event log and quarantine) are erased too.
customer_erased = Signal()
