"""Celery tasks for notifications: thin wrappers that load by id and call a service."""
