-- Finished races' pre-race prices are archived once settled (their result known and the off a
-- day past), not only when their history is dropped: `historical_odds_bookmakers` then reads a
-- settled race's few hundred archived rows instead of unpacking its thousands of price events,
-- which keeps /v1/historical/odds and the statistics' coverage figures fast on months of data.
-- Prices are only pre-race ones (source_time <= off), so nothing after settlement changes them.
CREATE FUNCTION historical_odds_archive_settled(settled_before timestamptz)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    archived bigint;
BEGIN
    INSERT INTO historical_odds_archive
    SELECT b.* FROM historical_odds_bookmakers b
    WHERE b.price_source = 'live' AND b.race_id IN (
        SELECT r.race_id FROM results r
        WHERE r.off_dt < settled_before
          AND NOT EXISTS (SELECT FROM historical_odds_archive a WHERE a.race_id = r.race_id)
          AND EXISTS (SELECT FROM odds_history_events h WHERE h.race_id = r.race_id))
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS archived = ROW_COUNT;
    RETURN archived;
END
$$;
