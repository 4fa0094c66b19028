-- Retention (docs/operations.md): the price history is partitioned by UTC day of `source_time`,
-- so a day past the retention is dropped whole (no DELETE, no bloat, no vacuum debt). The
-- streams' writes are unchanged: COPY and `INSERT ... ON CONFLICT DO NOTHING` route each row to
-- its day, and the primary key already holds the partition column. Rows for a day without a
-- partition (a replay of an old day, a simulated day far ahead) land in the DEFAULT partition,
-- so a write never fails for want of one; `odds_history_ensure_partition` later moves them into
-- their day. Before a day is dropped, the pre-race summary of every finished race with prices
-- in it is archived (`historical_odds_archive`), so `/v1/historical/odds` keeps those races.

CREATE TABLE odds_history_events_parted (
    race_id       text        NOT NULL,
    bookmaker_id  text        NOT NULL,
    source_time   timestamptz NOT NULL,
    event_id      text        NOT NULL,
    source        text        NOT NULL,
    ingest_time   timestamptz NOT NULL,
    prices        json        NOT NULL,
    PRIMARY KEY (race_id, bookmaker_id, source_time, event_id)
) PARTITION BY RANGE (source_time);
CREATE TABLE odds_history_events_default PARTITION OF odds_history_events_parted DEFAULT;
CREATE INDEX odds_history_events_parted_brin ON odds_history_events_parted
    USING brin (source_time);

CREATE FUNCTION odds_history_partition_name(day date) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$ SELECT 'odds_history_events_p' || to_char(day, 'YYYYMMDD') $$;

-- The day's partition, created unless it exists; rows of that day waiting in the default
-- partition move into it (in this transaction: the default is checked when a partition is made).
CREATE FUNCTION odds_history_ensure_partition(day date, parent regclass DEFAULT NULL)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    lo timestamptz := day::timestamp AT TIME ZONE 'UTC';
    hi timestamptz := (day + 1)::timestamp AT TIME ZONE 'UTC';
    target regclass := coalesce(parent, 'odds_history_events'::regclass);
    part text := odds_history_partition_name(day);
    fallback regclass;
    waiting boolean;
BEGIN
    IF to_regclass(part) IS NOT NULL THEN
        RETURN false;
    END IF;
    SELECT partdefid::regclass INTO fallback FROM pg_partitioned_table WHERE partrelid = target;
    EXECUTE format('SELECT EXISTS (SELECT FROM %s WHERE source_time >= $1 '
                   'AND source_time < $2)', fallback) INTO waiting USING lo, hi;
    IF waiting THEN
        CREATE TEMP TABLE IF NOT EXISTS odds_history_moving (
            race_id text, bookmaker_id text, source_time timestamptz, event_id text,
            source text, ingest_time timestamptz, prices json) ON COMMIT DROP;
        EXECUTE format('WITH moved AS (DELETE FROM %s WHERE source_time >= $1 '
                       'AND source_time < $2 RETURNING *) '
                       'INSERT INTO odds_history_moving SELECT * FROM moved', fallback)
            USING lo, hi;
    END IF;
    EXECUTE format('CREATE TABLE %I PARTITION OF %s FOR VALUES FROM (%L) TO (%L)',
                   part, target, lo, hi);
    IF waiting THEN
        EXECUTE format('INSERT INTO %s SELECT * FROM odds_history_moving', target);
        TRUNCATE odds_history_moving;
    END IF;
    RETURN true;
END
$$;

-- Move the stored history in, a partition for each day it covers (an empty table: none).
DO $$
DECLARE
    day date;
BEGIN
    FOR day IN SELECT DISTINCT (source_time AT TIME ZONE 'UTC')::date FROM odds_history_events LOOP
        PERFORM odds_history_ensure_partition(day, 'odds_history_events_parted');
    END LOOP;
END
$$;
INSERT INTO odds_history_events_parted
SELECT race_id, bookmaker_id, source_time, event_id, source, ingest_time, prices
FROM odds_history_events;

-- Views read the table by identity: keep every view built on it (transitively), swap the
-- tables, and create the views again from their own definitions, innermost first.
CREATE TEMP TABLE saved_views ON COMMIT DROP AS
WITH RECURSIVE deps(oid, depth) AS (
    SELECT r.ev_class, 1
    FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
    WHERE d.refobjid = 'odds_history_events'::regclass AND r.ev_class <> d.refobjid
    UNION ALL
    SELECT r.ev_class, deps.depth + 1
    FROM deps JOIN pg_depend d ON d.refobjid = deps.oid JOIN pg_rewrite r ON r.oid = d.objid
    WHERE r.ev_class <> deps.oid
)
SELECT c.oid::regclass::text AS name, max(deps.depth) AS depth,
       pg_get_viewdef(c.oid) AS definition
FROM deps JOIN pg_class c ON c.oid = deps.oid
GROUP BY c.oid;

DROP TABLE odds_history_events CASCADE;
ALTER TABLE odds_history_events_parted RENAME TO odds_history_events;
ALTER INDEX odds_history_events_parted_pkey RENAME TO odds_history_events_pkey;
ALTER INDEX odds_history_events_parted_brin RENAME TO odds_history_events_source_time;

DO $$
DECLARE
    v record;
BEGIN
    FOR v IN SELECT name, definition FROM saved_views ORDER BY depth LOOP
        EXECUTE format('CREATE VIEW %s AS %s', v.name, v.definition);
    END LOOP;
END
$$;

-- Finished races' pre-race prices, kept when their history is dropped: one row per race x
-- runner x bookmaker, as `historical_odds_bookmakers` gave it from the live history.
CREATE TABLE historical_odds_archive AS
SELECT * FROM historical_odds_bookmakers WITH NO DATA;
ALTER TABLE historical_odds_archive ADD PRIMARY KEY (race_id, horse_id, bookmaker_id);

-- As in 0011, for races not archived; archived races read their archive.
CREATE OR REPLACE VIEW historical_odds_bookmakers AS
WITH unarchived AS (
    SELECT r.race_id, r.off_dt FROM results r
    WHERE NOT EXISTS (SELECT FROM historical_odds_archive a WHERE a.race_id = r.race_id)
), observed AS (
    SELECT h.race_id, h.horse_id, h.bookmaker_id, h.source_time, h.price_decimal, h.ew_places,
           h.ew_denom, 'live' AS price_source
    FROM unarchived r
    JOIN odds_history h ON h.race_id = r.race_id AND h.source_time <= r.off_dt
    WHERE h.price_decimal IS NOT NULL
    UNION ALL
    SELECT h.race_id, h.horse_id, h.bookmaker_id, h.source_time, h.price_decimal, h.ew_places,
           h.ew_denom, 'historical'
    FROM unarchived r
    JOIN odds_historical h ON h.race_id = r.race_id AND h.source_time <= r.off_dt
    WHERE h.price_decimal IS NOT NULL
), chosen AS (
    SELECT o.*, max(o.price_source) OVER (PARTITION BY o.race_id) AS race_source
    FROM observed o
), computed AS (
    SELECT DISTINCT ON (race_id, horse_id, bookmaker_id)
           race_id, horse_id, bookmaker_id,
           price_decimal AS last_price,
           source_time AS last_price_time,
           min(price_decimal) OVER w AS min_price,
           max(price_decimal) OVER w AS max_price,
           round(avg(price_decimal) OVER w, 4) AS mean_price,
           count(*) OVER w AS observations,
           ew_places, ew_denom, price_source
    FROM chosen
    WHERE price_source = race_source
    WINDOW w AS (PARTITION BY race_id, horse_id, bookmaker_id)
    ORDER BY race_id, horse_id, bookmaker_id, source_time DESC
)
SELECT * FROM computed
UNION ALL
SELECT * FROM historical_odds_archive;

-- Drop every daily partition wholly before `cutoff` (and the default partition's rows before
-- it), archiving first the pre-race prices of finished races with prices there. Returns the
-- partitions dropped.
CREATE FUNCTION odds_history_drop_before(cutoff timestamptz)
RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    part text;
    day date;
BEGIN
    FOR part, day IN
        SELECT c.relname, to_date(right(c.relname, 8), 'YYYYMMDD')
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'odds_history_events'::regclass
          AND c.relname ~ '^odds_history_events_p[0-9]{8}$'
        ORDER BY c.relname
    LOOP
        CONTINUE WHEN ((day + 1)::timestamp AT TIME ZONE 'UTC') > cutoff;
        EXECUTE format(
            'INSERT INTO historical_odds_archive SELECT * FROM historical_odds_bookmakers '
            'WHERE price_source = ''live'' AND race_id IN (SELECT DISTINCT race_id FROM %I) '
            'ON CONFLICT DO NOTHING', part);
        EXECUTE format('DROP TABLE %I', part);
        DELETE FROM history_partition_stats s WHERE s.partition = part;
        RETURN NEXT part;
    END LOOP;
    INSERT INTO historical_odds_archive
    SELECT * FROM historical_odds_bookmakers
    WHERE price_source = 'live' AND race_id IN (
        SELECT DISTINCT race_id FROM odds_history_events_default WHERE source_time < cutoff)
    ON CONFLICT DO NOTHING;
    DELETE FROM odds_history_events_default WHERE source_time < cutoff;
END
$$;

-- Figures of days no longer written: counted once, by the maintenance job, so the statistics
-- need not read 30 days of history to count it.
CREATE TABLE history_partition_stats (
    partition   text        PRIMARY KEY,
    day         date        NOT NULL,
    events      bigint      NOT NULL,
    prices      bigint      NOT NULL,
    counted_at  timestamptz NOT NULL DEFAULT now()
);

-- Count every daily partition wholly before `sealed` that is not counted yet.
CREATE FUNCTION history_partition_stats_refresh(sealed timestamptz)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    part text;
    day date;
    n integer := 0;
BEGIN
    FOR part, day IN
        SELECT c.relname, to_date(right(c.relname, 8), 'YYYYMMDD')
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'odds_history_events'::regclass
          AND c.relname ~ '^odds_history_events_p[0-9]{8}$'
          AND NOT EXISTS (SELECT FROM history_partition_stats s WHERE s.partition = c.relname)
    LOOP
        CONTINUE WHEN ((day + 1)::timestamp AT TIME ZONE 'UTC') > sealed;
        EXECUTE format('INSERT INTO history_partition_stats (partition, day, events, prices) '
                       'SELECT %L, %L, count(*), coalesce(sum(json_array_length(prices)), 0) '
                       'FROM %I', part, day, part);
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;

-- Price changes in the history (one per price), and since `since`: counted partitions from
-- their figures, the others read.
CREATE FUNCTION history_price_count(since timestamptz DEFAULT NULL)
RETURNS bigint LANGUAGE plpgsql STABLE AS $$
DECLARE
    part text;
    counted bigint;
    found bigint;
    total bigint := 0;
BEGIN
    FOR part, counted IN
        SELECT c.relname, s.prices
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        LEFT JOIN history_partition_stats s ON s.partition = c.relname
        WHERE i.inhparent = 'odds_history_events'::regclass
          -- a day wholly before `since` has nothing after it
          AND (since IS NULL OR c.relname !~ '^odds_history_events_p[0-9]{8}$'
               OR (to_date(right(c.relname, 8), 'YYYYMMDD') + 1)::timestamp AT TIME ZONE 'UTC'
                  > since)
    LOOP
        IF counted IS NOT NULL AND since IS NULL THEN
            total := total + counted;
        ELSIF since IS NULL THEN
            EXECUTE format('SELECT coalesce(sum(json_array_length(prices)), 0) FROM %I', part)
                INTO found;
            total := total + found;
        ELSE
            EXECUTE format('SELECT coalesce(sum(json_array_length(prices)), 0) FROM %I '
                           'WHERE source_time >= $1', part) INTO found USING since;
            total := total + found;
        END IF;
    END LOOP;
    RETURN total;
END
$$;
