"""Use cases that touch the database, each in one transaction."""
