"""The dashboard's own rows: its two permissions, the one-time tokens of its forms and the
lists' saved views."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class DashboardAccess(models.Model):
    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("operate", "Work the queue, receive, ship and look after orders"),
            ("manage", "Also purchase orders, priorities, refunds, compliance and reports"),
        ]

    def __str__(self) -> str:
        return "Dashboard access"


class SubmissionToken(models.Model):
    """A form's one-time token, used in the transaction of the write it caused: a second POST
    with the same token (a double click, a resent request) finds it and is sent to the first
    result instead of writing again."""

    key = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="submission_tokens"
    )
    created_at = models.DateTimeField(default=timezone.now)
    result_url = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "created_at"], name="submission_user_created")]

    def __str__(self) -> str:
        return f"Submission {self.key[:8]}… by user {self.user_id}"


class SavedView(models.Model):
    """A list's filters and sort saved under a name by one user (e.g. "Overdue Shopify")."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views"
    )
    list_name = models.CharField(max_length=40)
    name = models.CharField(max_length=60)
    query = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "list_name", "name"],
                name="savedview_unique_name_per_user_list",
                violation_error_message="You already have a view with this name on this list.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.list_name})"
