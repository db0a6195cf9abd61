"""Calendar providers behind one small protocol (the sync engine adds them)."""
