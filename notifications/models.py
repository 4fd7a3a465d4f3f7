"""Notification models: the email outbox arrives with the notifications issue."""
