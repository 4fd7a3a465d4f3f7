from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from anymail.signals import tracking

        from .receivers import tracking_event_receive

        tracking.connect(
            tracking_event_receive, dispatch_uid="notifications.tracking_event_receive"
        )
