"""Create the three staff roles as groups, and the default internment site."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ADMINISTRATOR_PERMISSIONS = [
    ("camp", "add_site"),
    ("camp", "change_site"),
    ("camp", "view_site"),
    ("camp", "add_user"),
    ("camp", "change_user"),
    ("camp", "view_user"),
    ("camp", "view_auditentry"),
    ("auth", "view_group"),
]


def create_roles_and_site(apps, schema_editor):
    # Permissions are normally created after all migrations; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name in ("guard", "supervisor"):
        Group.objects.get_or_create(name=name)
    administrator, _ = Group.objects.get_or_create(name="administrator")
    for app_label, codename in ADMINISTRATOR_PERMISSIONS:
        administrator.permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )

    Site = apps.get_model("camp", "Site")
    if not Site.objects.exists():
        Site.objects.create(name="Main camp", code="MC", time_zone="Europe/Kyiv")


class Migration(migrations.Migration):
    dependencies = [
        ("camp", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles_and_site, migrations.RunPython.noop)]
