"""5G converged charging: conso as a CHF on Nchf_ConvergedCharging v3 (nchf.md).

models.py (TS 32.291 messages), charging.py (requests to the charging core and back),
app.py (routes, token, limits, ProblemDetails), openapi.py (the served document),
server.py (hypercorn: HTTP/2 and HTTP/1.1), notify.py (ChargingNotifyRequest to the
SMF), frontend.py (all of it together), config.py (settings).
"""
