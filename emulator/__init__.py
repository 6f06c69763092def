"""Local Azure emulator: Entra tokens, ARM, Microsoft Graph and the cross-tenant key trust chain over HTTPS."""
