"""Pytest fixtures for the Auth0 tenant emulator (filled in with the emulator)."""
