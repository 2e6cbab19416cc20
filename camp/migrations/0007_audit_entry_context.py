from django.db import migrations, models

from camp.history import CONTEXT_FUNCTION_SQL, DROP_CONTEXT_FUNCTION_SQL


class Migration(migrations.Migration):
    dependencies = [
        ("camp", "0006_user_language"),
        ("pghistory", "0007_auto_20250421_0444"),
    ]

    operations = [
        migrations.RunSQL(CONTEXT_FUNCTION_SQL, reverse_sql=DROP_CONTEXT_FUNCTION_SQL),
        # Added without a default first: a volatile default would give every existing
        # entry the one context of this migration's transaction.
        migrations.AddField(
            model_name="auditentry",
            name="context_id",
            field=models.UUIDField(editable=False, null=True, verbose_name="context"),
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="context_id",
            field=models.UUIDField(
                db_default=models.Func(
                    function="camp_history_context_id", output_field=models.UUIDField()
                ),
                editable=False,
                null=True,
                verbose_name="context",
            ),
        ),
    ]
