"""Background jobs on RQ (the sync engine adds them)."""
