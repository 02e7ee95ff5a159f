"""SMS: keywords texted to 1921, and the SMPP link to the SMS centre."""
