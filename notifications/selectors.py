"""Reads for notifications."""
