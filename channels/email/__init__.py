"""The e-mail channel: SMTP intake (aiosmtpd), an IMAP poller, MIME parsing, loop guards and replies.

Modules: `parse` (raw bytes -> ParsedMail), `guards` (auto-mail, loops, bounces, threading), `store`
(attachments and quarantine under the data dir), `processor` (one mail -> report, follow-up or nothing),
`server` (the SMTP server), `imap` (the poller), `reply` (the acknowledgement, sent by the reply worker).
"""
