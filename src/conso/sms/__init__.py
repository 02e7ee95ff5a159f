"""SMS: keywords texted to 1921, the SMPP link to the SMS centre (`smpp/`), and the
SMS channel that sends outbox messages over it (`channel`)."""
