"""The customer's setup page: a signed, expiring link per onboarding instead of Temporal access.

links.py signs and checks the links, revocation.py refuses revoked ones, rate_limit.py paces each
link, gateway.py talks to Temporal through client.operations, render.py writes escaped HTML and
app.py wires them into an aiohttp application (`python -m customer_page`).
"""
