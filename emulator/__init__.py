"""Local Azure emulator over HTTPS.

It serves Entra tokens, ARM, Microsoft Graph and the cross-tenant key trust chain.
"""
