"""Wiring: settings, the Starlette application, lifespan and the command line."""
