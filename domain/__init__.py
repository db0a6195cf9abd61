"""Pure booking logic: intervals, time zones, availability and recurrence."""
