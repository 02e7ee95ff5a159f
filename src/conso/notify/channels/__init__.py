"""Channels deliver outbox messages: the log (embedded default) and SMTP. The SMS
channel over SMPP belongs to the SMS package, which imports the base from here."""
