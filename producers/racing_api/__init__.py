"""Producers fed by The Racing API: live odds, the historical backfill and reference data."""
