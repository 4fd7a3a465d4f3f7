"""The dashboard owns no data: this unmanaged model only carries its two permissions."""

from __future__ import annotations

from django.db import models


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
