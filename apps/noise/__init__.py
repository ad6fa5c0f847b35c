"""Alert noise control: notify on what changed, remind on a schedule, silence, damp flapping,
govern storms, and record why each notification was (or was not) sent.

- ``gate``: the webhook's change gate (an unchanged re-push starts no run);
- ``decide``, ``periodic``: the pure decision rules (no database, no clock of their own);
- ``services``: the ingest node's decision, analysis reuse, the channels told;
- ``sweeps`` / ``tasks``: reminders, storm digests, silence ends, flap recovery (beat);
- ``silences``, ``matchers``: maintenance windows; ``trace``: "why was I (not) notified?";
- ``api``, ``urls``, ``admin``, ``management/commands``: silences and traces for operators.

See docs/noise.md.
"""
