-- Each quote's story (opening, high, low, changes, last change) now lives beside its latest
-- price, written in the same upsert: one row per runner x bookmaker per batch instead of two.
-- `odds_quotes` stays, as a view of the same rows.
ALTER TABLE odds_latest
    ADD COLUMN opening     numeric(12, 4),
    ADD COLUMN high        numeric(12, 4),
    ADD COLUMN low         numeric(12, 4),
    ADD COLUMN changes     integer NOT NULL DEFAULT 0,
    ADD COLUMN last_change timestamptz;

UPDATE odds_latest l
SET opening = q.opening, high = q.high, low = q.low, changes = q.changes,
    last_change = q.last_change
FROM odds_quotes q
WHERE (q.race_id, q.horse_id, q.bookmaker_id) = (l.race_id, l.horse_id, l.bookmaker_id);

DROP TABLE odds_quotes;
CREATE VIEW odds_quotes AS
SELECT race_id, horse_id, bookmaker_id, opening, high, low, changes, last_change, source_time,
       event_id
FROM odds_latest;

-- Every upsert had to move this index entry too; the statistics' recent-price counts scan the
-- table (one row per quote) instead.
DROP INDEX odds_latest_source_time;
