"""Thin query and mutation functions: check permission, parse, call a service, convert."""
