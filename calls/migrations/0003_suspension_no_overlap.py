import django.contrib.postgres.constraints
from django.db import migrations, models

import calls.models


OVERLAPPING_PAIRS = """
    SELECT prisoner.isn, a.id, a.starts_on, a.ends_on, b.id, b.starts_on, b.ends_on
    FROM calls_suspension AS a
    JOIN calls_suspension AS b
      ON b.prisoner_id = a.prisoner_id AND a.id < b.id
     AND a.starts_on <= b.ends_on AND b.starts_on <= a.ends_on
    JOIN prisoners_prisoner AS prisoner ON prisoner.id = a.prisoner_id
    ORDER BY prisoner.isn, a.starts_on, a.id, b.id
"""


def refuse_existing_overlaps(apps, schema_editor):
    """Name the overlapping suspensions already recorded, rather than fail on the
    constraint's bare row keys: which one stands is a decision for a supervisor,
    not for a migration."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(OVERLAPPING_PAIRS)
        pairs = cursor.fetchall()
    if pairs:
        raise RuntimeError(
            "Overlapping call suspensions of one prisoner; shorten or remove one of each "
            "pair, then migrate again:\n"
            + "\n".join(
                f"{isn}: #{a} {a_from}–{a_until} and #{b} {b_from}–{b_until}"
                for isn, a, a_from, a_until, b, b_from, b_until in pairs
            )
        )


class Migration(migrations.Migration):
    dependencies = [
        ("calls", "0002_call_current_values"),
    ]

    operations = [
        migrations.AlterField(
            model_name="booking",
            name="status",
            field=models.CharField(
                choices=[
                    ("booked", "Booked"),
                    ("cancelled", "Cancelled"),
                    ("no_show", "No-show"),
                    ("suspended", "Suspended: make-up call owed"),
                ],
                default="booked",
                max_length=10,
                verbose_name="status",
            ),
        ),
        migrations.RunPython(refuse_existing_overlaps, migrations.RunPython.noop, elidable=True),
        migrations.AddConstraint(
            model_name="suspension",
            constraint=django.contrib.postgres.constraints.ExclusionConstraint(
                expressions=[
                    (calls.models.IdRange("prisoner_id"), "&&"),
                    (calls.models.DateRange("starts_on", "ends_on"), "&&"),
                ],
                name="calls_suspension_no_overlap_per_prisoner",
                violation_error_message=(
                    "This prisoner's calls are already suspended on some of these days."
                ),
            ),
        ),
    ]
