"""Admin for notifications: registered with the outbox models."""
