"""Diameter Gy/Ro: conso as the online charging server of a 4G network (diameter.md).

codec.py (the wire format), dictionary.py (names and types), peer.py (one connection:
CER/CEA, DWR/DWA, DPR/DPA, duplicates), server.py (the listener, peers, RAR),
credit.py (CCR to the charging core and back), reauth.py (RARs as a dispatcher
channel), frontend.py (all of it together), config.py (settings).
"""
