"""Channels deliver outbox messages: the log (embedded default), SMTP, SMPP."""
