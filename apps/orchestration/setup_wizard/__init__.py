"""The ``setup_instance`` wizard's parts: presets, prompts, the plan it applies, the test run.

The management command (``apps/orchestration/management/commands/setup_instance.py``) keeps the
seed's step methods; the logic they share with the non-interactive mode lives here.
"""
