"""Fixtures shared by the connector tests (each starts only when a test asks for it)."""

from tests.connectors.mailboxes import customer, mail, support  # noqa: F401
from tests.connectors.mailservers import dovecot, smtp_server  # noqa: F401
