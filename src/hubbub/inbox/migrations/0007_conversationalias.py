# Conversations merged away (inbox.merging) leave an alias: the old id → the survivor, so links to them still
# lead somewhere. Merges made before this migration are recovered from their audit entries
# (`conversation.merged`, target = survivor, data.absorbed = the merged id), chains followed to the current
# survivor; one pass over that verb's audit rows.

import django.db.models.deletion
from django.db import migrations, models
from django.utils import timezone


def aliases_of_earlier_merges(apps, schema_editor):
    AuditEvent = apps.get_model("tenancy", "AuditEvent")
    Conversation = apps.get_model("inbox", "Conversation")
    ConversationAlias = apps.get_model("inbox", "ConversationAlias")
    into: dict[int, tuple[int, int, object]] = {}  # absorbed → (organisation, survivor, when)
    rows = AuditEvent.objects.filter(verb="conversation.merged", target_type="conversation")
    for org_id, target, data, at in rows.values_list("organization_id", "target_id", "data", "created_at").iterator():
        absorbed = (data or {}).get("absorbed")
        if isinstance(absorbed, int) and str(target).isdigit():
            into[absorbed] = (org_id, int(target), at)
    if not into:
        return

    def last(conv_id: int) -> int:
        seen = set()
        while conv_id in into and conv_id not in seen:
            seen.add(conv_id)
            conv_id = into[conv_id][1]
        return conv_id

    final = {absorbed: last(absorbed) for absorbed in into}
    survivors = set(final.values())
    existing: set[int] = set()
    ids = sorted(survivors)
    for i in range(0, len(ids), 500):
        existing.update(Conversation.objects.filter(pk__in=ids[i : i + 500]).values_list("pk", flat=True))
    ConversationAlias.objects.bulk_create(
        [
            ConversationAlias(
                organization_id=into[absorbed][0], old_id=absorbed, conversation_id=survivor,
                created_at=into[absorbed][2] or timezone.now(),
            )
            for absorbed, survivor in sorted(final.items())
            if survivor in existing and absorbed not in existing
        ],
        batch_size=500,
    )


class Migration(migrations.Migration):

    dependencies = [
        ('inbox', '0006_message_awaiting_parent'),
        ('tenancy', '0001_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='ConversationAlias',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('old_id', models.BigIntegerField(unique=True)),
                ('created_at', models.DateTimeField()),
                ('conversation', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='aliases', to='inbox.conversation')),
                ('organization', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to='tenancy.organization')),
            ],
        ),
        migrations.RunPython(aliases_of_earlier_merges, migrations.RunPython.noop),
    ]
