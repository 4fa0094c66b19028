-- The old 10-minute statistics report (docs/domain.md §3 "Statistics"), as views over the tables
-- the streams keep current: always up to date, computed on read. `stats_live_*` cover live odds,
-- `stats_historical_*` results and historical odds.

CREATE VIEW stats_live_summary AS
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
    (SELECT count(*) FROM odds_history) AS price_changes,
    (SELECT count(*) FROM odds_history WHERE source_time >= now() - interval '1 hour')
        AS price_changes_last_hour;

CREATE VIEW stats_live_bookmakers AS
SELECT o.bookmaker_id, b.name AS bookmaker, b.type,
       count(*) AS prices,
       count(DISTINCT o.race_id) AS races,
       count(DISTINCT o.horse_id) AS horses,
       max(o.source_time) AS latest
FROM odds_latest o
LEFT JOIN bookmakers b USING (bookmaker_id)
GROUP BY o.bookmaker_id, b.name, b.type;

CREATE VIEW stats_live_dates AS
SELECT r.race_date, count(DISTINCT o.race_id) AS races, count(*) AS prices
FROM odds_latest o
JOIN races r USING (race_id)
WHERE r.race_date >= current_date - 7
GROUP BY r.race_date;

CREATE VIEW stats_live_courses AS
SELECT r.course_id, r.course, count(DISTINCT o.race_id) AS races, count(*) AS prices
FROM odds_latest o
JOIN races r USING (race_id)
GROUP BY r.course_id, r.course
ORDER BY prices DESC, r.course_id
LIMIT 20;

CREATE VIEW stats_live_nulls AS
SELECT 'price_decimal' AS column_name, count(*) FILTER (WHERE price_decimal IS NULL) AS nulls
FROM odds_latest
UNION ALL
SELECT 'price_fractional', count(*) FILTER (WHERE price_fractional IS NULL) FROM odds_latest
UNION ALL
SELECT 'ew_places', count(*) FILTER (WHERE ew_places IS NULL) FROM odds_latest
UNION ALL
SELECT 'ew_denom', count(*) FILTER (WHERE ew_denom IS NULL) FROM odds_latest;

CREATE VIEW stats_live_market_status AS
SELECT status, count(*) AS races,
       round(count(*)::numeric / sum(count(*)) OVER (), 4) AS share
FROM market_status
GROUP BY status;

CREATE VIEW stats_historical_summary AS
SELECT
    (SELECT count(*) FROM result_runners) AS runners,
    (SELECT count(*) FROM results) AS races,
    (SELECT min(off_dt)::date FROM results) AS earliest_date,
    (SELECT max(off_dt)::date FROM results) AS latest_date,
    (SELECT count(*) FROM results WHERE off_dt >= now() - interval '24 hours') AS races_last_24h,
    (SELECT count(*) FROM results WHERE off_dt >= now() - interval '7 days') AS races_last_7d,
    (SELECT count(DISTINCT horse_id) FROM result_runners) AS horses,
    (SELECT count(DISTINCT course_id) FROM results) AS tracks,
    (SELECT count(DISTINCT jockey_id) FROM result_runners) AS jockeys,
    (SELECT count(DISTINCT trainer_id) FROM result_runners) AS trainers,
    (SELECT count(DISTINCT region_code) FROM results) AS countries,
    (SELECT count(*) FROM odds_historical) AS historical_prices;

CREATE VIEW stats_historical_dates AS
SELECT off_dt::date AS race_date, count(*) AS races
FROM results
GROUP BY off_dt::date;

CREATE VIEW stats_historical_countries AS
SELECT coalesce(region_code, 'unknown') AS region_code, count(*) AS races
FROM results
GROUP BY region_code;

CREATE VIEW stats_historical_tracks AS
SELECT r.course_id, c.course, count(*) AS races
FROM results r
LEFT JOIN courses c USING (course_id)
GROUP BY r.course_id, c.course;

CREATE VIEW stats_historical_nulls AS
SELECT 'sp_decimal' AS column_name, count(*) FILTER (WHERE sp_decimal IS NULL) AS nulls
FROM result_runners
UNION ALL
SELECT 'finished', count(*) FILTER (WHERE finished IS NULL) FROM result_runners
UNION ALL
SELECT 'beaten_lengths', count(*) FILTER (WHERE beaten_lengths IS NULL) FROM result_runners
UNION ALL
SELECT 'jockey_id', count(*) FILTER (WHERE jockey_id IS NULL) FROM result_runners
UNION ALL
SELECT 'trainer_id', count(*) FILTER (WHERE trainer_id IS NULL) FROM result_runners;

CREATE VIEW stats_historical_coverage AS
SELECT count(*) AS runners,
       count(*) FILTER (WHERE sp_decimal IS NOT NULL) AS with_sp,
       count(*) FILTER (WHERE bookmakers > 0) AS with_pre_race_prices,
       round(count(*) FILTER (WHERE sp_decimal IS NOT NULL)::numeric
             / greatest(count(*), 1), 4) AS sp_coverage,
       round(count(*) FILTER (WHERE bookmakers > 0)::numeric
             / greatest(count(*), 1), 4) AS pre_race_price_coverage
FROM historical_odds;
