"""Writes for notifications (queueing and sending customer and staff emails)."""
