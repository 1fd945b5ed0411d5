# Replies that arrived before their parent (out-of-order delivery) are flagged, so threading can
# join them to the parent's conversation when it arrives. The index is partial: only the flagged
# rows (rare) have an entry, so the ingest hot path pays nothing for it.

from django.db import migrations, models
from django.db.models import Exists, OuterRef, Q


def flag_existing_orphans(apps, schema_editor):
    """Replies already stored whose parent is not: the parent may still arrive."""
    Message = apps.get_model("inbox", "Message")
    parent = Message.objects.filter(
        organization_id=OuterRef("organization_id"), network=OuterRef("network"), external_id=OuterRef("in_reply_to")
    )
    Message.objects.exclude(in_reply_to="").exclude(Exists(parent)).update(awaiting_parent=True)


class Migration(migrations.Migration):
    dependencies = [
        ("inbox", "0005_alter_conversation_assignee_and_more"),
    ]

    operations = [
        migrations.AddField(
            model_name="message",
            name="awaiting_parent",
            field=models.BooleanField(default=False),
        ),
        migrations.AddIndex(
            model_name="message",
            index=models.Index(
                condition=Q(("awaiting_parent", True)),
                fields=["organization", "network", "in_reply_to"],
                name="msg_awaiting_parent",
            ),
        ),
        migrations.RunPython(flag_existing_orphans, migrations.RunPython.noop),
    ]
