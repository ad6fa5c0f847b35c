"""Inbound webhooks: authenticate, validate, deduplicate, rate-limit, store a run, answer 202.

The request does as little as possible: the parsers (pure and fast) run only to detect the
source and compute the delivery's identity; alerts are ingested later by the run's ingest node
on a worker. Modules: ``auth`` (tokens), ``signatures`` (HMAC), ``body`` (size, JSON,
chunked), ``ratelimit``, ``idempotency`` (dedup keys and the race-safe delivery record),
``views``.
"""
