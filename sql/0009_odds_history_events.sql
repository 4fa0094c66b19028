-- The price history is stored one row per applied odds event instead of one row per price.
-- An event carries one race x bookmaker's changed prices (4.4 on average), so this writes a
-- quarter of the rows and index entries: a history row's primary-key entry cost PostgreSQL
-- more than the rest of the row, and was most of its work per price. `odds_history` stays, as
-- a view with one row per price and the same columns.

CREATE TABLE odds_history_events (
    race_id       text        NOT NULL,
    bookmaker_id  text        NOT NULL,
    source_time   timestamptz NOT NULL,
    event_id      text        NOT NULL,
    source        text        NOT NULL,
    ingest_time   timestamptz NOT NULL,
    -- The prices the event changed: [[horse_id, decimal text, fractional, ew_places, ew_denom]]
    prices        jsonb       NOT NULL,
    PRIMARY KEY (race_id, bookmaker_id, source_time, event_id)
);
-- Time-ordered appends: a BRIN index is tiny and serves time-range scans.
CREATE INDEX odds_history_events_source_time ON odds_history_events USING brin (source_time);

INSERT INTO odds_history_events
SELECT race_id, bookmaker_id, source_time, event_id, min(source), min(ingest_time),
       jsonb_agg(jsonb_build_array(horse_id, price_decimal::text, price_fractional, ew_places,
                                   ew_denom) ORDER BY horse_id)
FROM odds_history
GROUP BY race_id, bookmaker_id, source_time, event_id;

DROP VIEW stats_live_summary;
DROP TABLE odds_history;

CREATE VIEW odds_history AS
SELECT e.race_id,
       p.price ->> 0 AS horse_id,
       e.bookmaker_id,
       e.source_time,
       (p.price ->> 1)::numeric(12, 4) AS price_decimal,
       p.price ->> 2 AS price_fractional,
       (p.price ->> 3)::smallint AS ew_places,
       (p.price ->> 4)::smallint AS ew_denom,
       e.source,
       e.event_id,
       e.ingest_time
FROM odds_history_events e
CROSS JOIN LATERAL jsonb_array_elements(e.prices) AS p(price);

-- As in 0004; the price changes are counted without unpacking the events.
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
    (SELECT coalesce(sum(jsonb_array_length(prices)), 0) FROM odds_history_events)::bigint
        AS price_changes,
    (SELECT coalesce(sum(jsonb_array_length(prices)), 0) FROM odds_history_events
        WHERE source_time >= now() - interval '1 hour')::bigint AS price_changes_last_hour;
