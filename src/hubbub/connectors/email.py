"""The email connector: a brand's support mailbox as a channel (IMAP in, SMTP out).

Credentials (`Channel.credentials`): `imap_host`, `imap_port`, `smtp_host`, `smtp_port`, `username`,
`password`, `address` (the brand's address, the replies' From), `tls` (`ssl` | `starttls` | `none`, the last
only to this machine), optionally `smtp_tls`, `folder` (default INBOX) and `sent_folder` (default: the
server's \\Sent). The pieces: `email_parse` (mail → event, pure), `email_in` (polling, IDLE), `email_out`
(sending, finding a sent reply), `email_imap` (settings and the IMAP session both directions share).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hubbub.connectors import email_in, email_out
from hubbub.connectors.base import OutboundReply, PollResult, register
from hubbub.connectors.email_parse import NETWORK

if TYPE_CHECKING:
    from hubbub.connectors.models import Channel


class EmailConnector:
    network = NETWORK

    def check(self, channel: Channel) -> str:
        return email_in.check(channel)

    def poll(self, channel: Channel, cursor: dict[str, Any]) -> PollResult:
        return email_in.poll(channel, cursor)

    def send_reply(self, channel: Channel, reply: OutboundReply) -> str:
        return email_out.send(channel, reply)

    def find_posted(self, channel: Channel, reply: OutboundReply) -> str | None:
        return email_out.find_posted(channel, reply)


register(EmailConnector())
