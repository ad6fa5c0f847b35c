"""Orchestration API URLs."""

urlpatterns: list = []
