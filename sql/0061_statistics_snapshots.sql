-- The statistics report and the table counts, as a maintenance job last computed them: on a
-- database holding months of prices they take seconds to compute, so the API serves the stored
-- figures while they are fresh (DARKHORSES_API_STATISTICS_MAX_AGE_S) and computes them on
-- request otherwise (a new database, or no scheduler running).
CREATE TABLE statistics_snapshots (
    name         text        PRIMARY KEY,  -- 'statistics' (/v1/statistics), 'summary' (/v1/summary)
    payload      jsonb       NOT NULL,
    computed_at  timestamptz NOT NULL,
    duration_ms  double precision NOT NULL
);

-- As in 0010, the price changes counted from the sealed days' stored figures (sql/0060).
CREATE OR REPLACE VIEW stats_live_summary AS
SELECT
    (SELECT count(*) FROM odds_latest) AS prices,
    (SELECT count(DISTINCT race_id) FROM odds_latest) AS races,
    (SELECT count(DISTINCT horse_id) FROM odds_latest) AS horses,
    (SELECT count(DISTINCT r.course_id) FROM races r
        WHERE r.race_id IN (SELECT race_id FROM odds_latest)) AS courses,
    (SELECT count(DISTINCT bookmaker_id) FROM odds_latest) AS bookmakers,
    (SELECT min(r.race_date) FROM races r
        WHERE r.race_id IN (SELECT race_id FROM odds_latest)) AS earliest_race_date,
    (SELECT max(r.race_date) FROM races r
        WHERE r.race_id IN (SELECT race_id FROM odds_latest)) AS latest_race_date,
    (SELECT max(source_time) FROM odds_latest) AS latest_price_time,
    (SELECT count(*) FROM odds_latest WHERE source_time >= now() - interval '1 hour')
        AS prices_last_hour,
    (SELECT count(*) FROM odds_latest WHERE source_time >= now() - interval '24 hours')
        AS prices_last_24h,
    history_price_count() AS price_changes,
    history_price_count(now() - interval '1 hour') AS price_changes_last_hour;
