"""The charging core: one protocol-free interface under every network front end.

ports.py (what front ends may ask: requests, answers, the `ChargingCore` protocol),
core.py (its implementation over the domain and the engine), settings.py (barring,
spending limits, their audit and the pushes to the network), group_commit.py (session
updates committed in groups), housekeeping.py (expiring sessions, evicting old cycles),
views.py (answers several front ends show). It imports the domain, the engine and the
store; never a front end.
"""
