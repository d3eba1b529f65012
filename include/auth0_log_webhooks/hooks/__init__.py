"""Hooks: the Auth0 Management API (logs) and the customer's webhook."""
