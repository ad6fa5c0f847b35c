"""Moving a run from node to node no longer rewrites every index of the run table.

(status, node_deadline) changed its key on every move, so no update of a run could be a HOT
update: each move wrote a new entry into all eight indexes. The recovery sweep it served
reads only open runs, which a partial index on a column that never changes serves as well
(the sweep then filters by node_deadline among the open runs). The moves find room for
their new version in the run's own page without a lower fillfactor: the version before is
dead at once and pruned (a fillfactor of 80 tripled the table in bench runs, for no more
HOT updates).
"""

from django.db import migrations, models


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
    ]
