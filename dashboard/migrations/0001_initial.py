from django.db import migrations, models


def create_groups(apps, schema_editor):
    """The two staff groups and their permissions (created here: post_migrate runs later)."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    content_type, _ = ContentType.objects.get_or_create(app_label="dashboard", model="dashboardaccess")
    permissions = {}
    for codename, name in [
        ("operate", "Work the queue, receive, ship and look after orders"),
        ("manage", "Also purchase orders, priorities, refunds, compliance and reports"),
    ]:
        permissions[codename], _ = Permission.objects.get_or_create(
            content_type=content_type, codename=codename, defaults={"name": name}
        )
    for group_name, codenames in {"Operations": ["operate"], "Managers": ["operate", "manage"]}.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        group.permissions.add(*(permissions[c] for c in codenames))


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.CreateModel(
            name="DashboardAccess",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
            ],
            options={
                "managed": False,
                "default_permissions": (),
                "permissions": [
                    ("operate", "Work the queue, receive, ship and look after orders"),
                    ("manage", "Also purchase orders, priorities, refunds, compliance and reports"),
                ],
            },
        ),
        migrations.RunPython(create_groups, migrations.RunPython.noop),
    ]
