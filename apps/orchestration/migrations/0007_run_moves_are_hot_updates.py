"""Moving a run from node to node no longer rewrites every index of the run table.

(status, node_deadline) changed its key on every node of every run, so no update of a run
could be a HOT update: each move wrote a new entry into all eight indexes. The recovery sweep
it served reads only open runs, which a partial index on a column that never changes serves
as well (it then filters by node_deadline among the open runs). The table also keeps room in
each page for the updates of its rows (fillfactor 80 on PostgreSQL), where HOT updates go.
"""

from django.db import migrations, models

FILLFACTOR = 80


def _fillfactor(value: int | None):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        table = schema_editor.quote_name("orchestration_pipelinerun")
        if value is None:
            schema_editor.execute(f"ALTER TABLE {table} RESET (fillfactor)")
        else:
            schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = {int(value)})")

    return apply


class Migration(migrations.Migration):
    dependencies = [
        ("orchestration", "0006_fewer_indexes"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="pipelinerun",
            name="orchestrati_status_77503a_idx",
        ),
        migrations.AddIndex(
            model_name="pipelinerun",
            index=models.Index(
                condition=models.Q(("status__in", ["pending", "running"])),
                fields=["created_at"],
                name="pipelinerun_open",
            ),
        ),
        migrations.RunPython(_fillfactor(FILLFACTOR), _fillfactor(None)),
    ]
