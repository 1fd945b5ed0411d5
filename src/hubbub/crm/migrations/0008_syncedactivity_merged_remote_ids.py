# SyncedActivity names its conversation by id. Conversations merged before this migration left the row of an
# absorbed conversation naming a deleted one: it moves to the survivor (ConversationAlias, old id → survivor), by
# the rule of crm.sync.move_synced_conversations; notes of conversations merged into one that already had its own
# keep their HubSpot ids in the new `merged_remote_ids`.

from django.db import migrations, models


def move_rows_of_merged_conversations(apps, schema_editor):
    from hubbub.crm.sync import plan_synced_moves

    ConversationAlias = apps.get_model("inbox", "ConversationAlias")
    SyncedActivity = apps.get_model("crm", "SyncedActivity")
    into: dict[int, dict[int, int]] = {}  # organisation → {absorbed: survivor}
    for org_id, old_id, survivor_id in ConversationAlias.objects.values_list(
        "organization_id", "old_id", "conversation_id"
    ).iterator():
        into.setdefault(org_id, {})[old_id] = survivor_id
    for org_id, moves in into.items():
        ids = sorted({*moves, *moves.values()})
        rows = []
        for i in range(0, len(ids), 500):
            rows += SyncedActivity.objects.filter(
                organization_id=org_id, kind="conversation", local_id__in=ids[i : i + 500]
            )
        keep, drop = plan_synced_moves(rows, moves)
        for i in range(0, len(drop), 500):
            SyncedActivity.objects.filter(pk__in=drop[i : i + 500]).delete()
        for row in keep:
            SyncedActivity.objects.filter(pk=row.pk).update(
                local_id=row.local_id, merged_remote_ids=row.merged_remote_ids
            )


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0007_oauth_state"),
        ("inbox", "0007_conversationalias"),
    ]

    operations = [
        migrations.AddField(
            model_name="syncedactivity",
            name="merged_remote_ids",
            field=models.JSONField(
                blank=True, default=list, help_text="Notes written for conversations since merged into this one"
            ),
        ),
        migrations.RunPython(move_rows_of_merged_conversations, migrations.RunPython.noop),
    ]
