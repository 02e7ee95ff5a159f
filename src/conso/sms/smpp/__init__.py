"""SMPP 3.4 towards the operator's SMS centre: the PDUs (`pdu`), one TCP
connection (`connection`), the bound transceiver session (`session`) and what
can go wrong (`errors`). Knows nothing of outbox messages or keywords."""
