"""Audit entries carry their brand, so the audit log can hide other brands from brand-restricted users.

Earlier entries keep no brand: a restricted user does not see them (they may name any brand's work);
users who see every brand see them as before.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tenancy", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="brand",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="tenancy.brand",
            ),
        ),
    ]
