-- Real racing data, complete (issue 19): full cards and results, reference data from the
-- reference.*.v1 topics, bookmakers first seen in data, historical pre-race prices from the live
-- price history, the each-way terms of each race's type, market status history.

-- Full cards: what the pro racecards carry beyond the race and runner basics.
ALTER TABLE races
    ADD COLUMN pattern text,
    ADD COLUMN age_band text,
    ADD COLUMN rating_band text,
    ADD COLUMN prize text,
    ADD COLUMN race_status text,
    ADD COLUMN distance text,
    -- upstream's `field_size` as quoted (it can be 0 with a full field); `field_size` is the
    -- declared runners that are not non-runners.
    ADD COLUMN field_size_upstream integer;

ALTER TABLE runners
    ADD COLUMN sex text,
    ADD COLUMN official_rating integer,
    ADD COLUMN rpr integer,
    ADD COLUMN ts integer,
    ADD COLUMN headgear text,
    ADD COLUMN form text,
    ADD COLUMN jockey_claim_lbs integer,
    ADD COLUMN comment text,
    ADD COLUMN sire_id text,
    ADD COLUMN sire text,
    ADD COLUMN dam_id text,
    ADD COLUMN dam text,
    ADD COLUMN damsire_id text,
    ADD COLUMN damsire text;

-- Full results.
ALTER TABLE results
    ADD COLUMN race_name text,
    ADD COLUMN course text,
    ADD COLUMN race_type text,
    ADD COLUMN race_class text,
    ADD COLUMN pattern text,
    ADD COLUMN distance text,
    ADD COLUMN distance_f numeric(6, 2),
    ADD COLUMN going text,
    ADD COLUMN surface text,
    ADD COLUMN age_band text,
    ADD COLUMN rating_band text,
    ADD COLUMN winning_time text,
    ADD COLUMN non_runners text,
    -- from the race name (Handicap, Nursery); NULL when unknown (settled as a handicap)
    ADD COLUMN handicap boolean;

ALTER TABLE result_runners
    ADD COLUMN number integer,
    ADD COLUMN draw integer,
    ADD COLUMN sp_joint_favourite boolean NOT NULL DEFAULT false,
    ADD COLUMN bsp numeric(12, 4),
    ADD COLUMN beaten_total numeric(8, 2),
    ADD COLUMN time text,
    ADD COLUMN prize numeric(14, 2),
    ADD COLUMN official_rating integer,
    ADD COLUMN rpr integer,
    ADD COLUMN tsr integer,
    ADD COLUMN jockey_claim_lbs integer,
    ADD COLUMN headgear text,
    ADD COLUMN age integer,
    ADD COLUMN owner_id text,
    ADD COLUMN comment text;

-- Known upstream quirks each producer cycle handled, by name (FetchStats.quirks).
ALTER TABLE fetch_stats ADD COLUMN quirks json;

-- Reference data (streams/reference_sinks.py). Cards and reference records both write horses,
-- jockeys, trainers, owners and courses, each its own columns under its own version: a newer
-- card never discards a trainer's location or a horse's pedigree, and the reverse. Rows first
-- seen on one side start the other side's version at -infinity.
ALTER TABLE regions
    ADD COLUMN source_time timestamptz NOT NULL DEFAULT '-infinity',
    ADD COLUMN event_id text NOT NULL DEFAULT '';

ALTER TABLE courses
    ADD COLUMN region text,
    ADD COLUMN latitude double precision,
    ADD COLUMN longitude double precision,
    ADD COLUMN ref_source_time timestamptz NOT NULL DEFAULT '-infinity',
    ADD COLUMN ref_event_id text NOT NULL DEFAULT '',
    ALTER COLUMN source_time SET DEFAULT '-infinity',
    ALTER COLUMN event_id SET DEFAULT '';

ALTER TABLE horses
    ADD COLUMN dob text,
    ADD COLUMN sex text,
    ADD COLUMN sex_code text,
    ADD COLUMN colour text,
    ADD COLUMN region text,
    ADD COLUMN breeder text,
    ADD COLUMN sire text,
    ADD COLUMN dam text,
    ADD COLUMN damsire text,
    ADD COLUMN pedigree_checked boolean NOT NULL DEFAULT false,
    ADD COLUMN ref_source_time timestamptz NOT NULL DEFAULT '-infinity',
    ADD COLUMN ref_event_id text NOT NULL DEFAULT '',
    ALTER COLUMN source_time SET DEFAULT '-infinity',
    ALTER COLUMN event_id SET DEFAULT '';
CREATE INDEX horses_sire ON horses (sire_id);
CREATE INDEX horses_dam ON horses (dam_id);
CREATE INDEX horses_damsire ON horses (damsire_id);

ALTER TABLE jockeys
    ADD COLUMN ref_source_time timestamptz NOT NULL DEFAULT '-infinity',
    ADD COLUMN ref_event_id text NOT NULL DEFAULT '',
    ALTER COLUMN source_time SET DEFAULT '-infinity',
    ALTER COLUMN event_id SET DEFAULT '';
ALTER TABLE trainers
    ADD COLUMN location text,
    ADD COLUMN ref_source_time timestamptz NOT NULL DEFAULT '-infinity',
    ADD COLUMN ref_event_id text NOT NULL DEFAULT '',
    ALTER COLUMN source_time SET DEFAULT '-infinity',
    ALTER COLUMN event_id SET DEFAULT '';
ALTER TABLE owners
    ADD COLUMN ref_source_time timestamptz NOT NULL DEFAULT '-infinity',
    ADD COLUMN ref_event_id text NOT NULL DEFAULT '',
    ALTER COLUMN source_time SET DEFAULT '-infinity',
    ALTER COLUMN event_id SET DEFAULT '';

CREATE TABLE sires (
    sire_id      text        PRIMARY KEY,
    sire         text        NOT NULL,
    region       text,
    source_time  timestamptz NOT NULL,
    event_id     text        NOT NULL
);
CREATE TABLE dams (
    dam_id       text        PRIMARY KEY,
    dam          text        NOT NULL,
    region       text,
    source_time  timestamptz NOT NULL,
    event_id     text        NOT NULL
);
CREATE TABLE damsires (
    damsire_id   text        PRIMARY KEY,
    damsire      text        NOT NULL,
    region       text,
    source_time  timestamptz NOT NULL,
    event_id     text        NOT NULL
);

-- Progeny statistics of every sire, dam and damsire: horses by them (as the horses table knows
-- their pedigree), their runs, wins and places in results.
CREATE VIEW progeny_stats AS
WITH parent AS (
    SELECT p.role, p.id, h.horse_id
    FROM horses h
    CROSS JOIN LATERAL (
        VALUES ('sire', h.sire_id), ('dam', h.dam_id), ('damsire', h.damsire_id)
    ) AS p (role, id)
    WHERE p.id IS NOT NULL
)
SELECT p.role, p.id,
       count(DISTINCT p.horse_id) AS progeny,
       count(rr.horse_id) AS runs,
       count(*) FILTER (WHERE rr.finished = 1) AS wins,
       count(*) FILTER (WHERE rr.finished <= 3) AS places,
       coalesce(round(count(*) FILTER (WHERE rr.finished = 1)::numeric
                      / nullif(count(rr.horse_id), 0), 4), 0) AS win_rate,
       coalesce(round(count(*) FILTER (WHERE rr.finished <= 3)::numeric
                      / nullif(count(rr.horse_id), 0), 4), 0) AS place_rate,
       max(r.off_dt) AS last_run,
       max(r.off_dt) FILTER (WHERE rr.finished = 1) AS last_win
FROM parent p
LEFT JOIN result_runners rr ON rr.horse_id = p.horse_id
LEFT JOIN results r ON r.race_id = rr.race_id
GROUP BY p.role, p.id;

-- Bookmakers first seen in data (derived `x_...` ids of names the registry lacks) join the
-- registry's rows: live prices through their first bookmaker analytics row, historical prices
-- through the historical-odds sink.
CREATE FUNCTION add_seen_bookmaker() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO bookmakers (bookmaker_id, name, type, known)
    VALUES (NEW.bookmaker_id, NEW.bookmaker, 'unknown', false)
    ON CONFLICT (bookmaker_id) DO NOTHING;
    RETURN NULL;
END
$$;
CREATE TRIGGER bookmaker_analytics_seen AFTER INSERT ON bookmaker_analytics
    FOR EACH ROW EXECUTE FUNCTION add_seen_bookmaker();
INSERT INTO bookmakers (bookmaker_id, name, type, known)
SELECT bookmaker_id, bookmaker, 'unknown', false FROM bookmaker_analytics
ON CONFLICT (bookmaker_id) DO NOTHING;

-- Every market status a race went through (suspensions and reopenings), not only the latest.
CREATE TABLE market_status_history (
    race_id      text        NOT NULL,
    source_time  timestamptz NOT NULL,
    event_id     text        NOT NULL,
    status       text        NOT NULL,
    reason       text,
    PRIMARY KEY (race_id, source_time, event_id)
);

-- Each bookmaker's last pre-race price per runner, and its pre-race low, high and mean, from the
-- live price history for races the system watched, else from the historical backfill
-- (`price_source`: live or historical). A race watched live never mixes in backfilled prices.
CREATE VIEW historical_odds_bookmakers AS
WITH observed AS (
    SELECT h.race_id, h.horse_id, h.bookmaker_id, h.source_time, h.price_decimal, h.ew_places,
           h.ew_denom, 'live' AS price_source
    FROM results r
    JOIN odds_history h ON h.race_id = r.race_id AND h.source_time <= r.off_dt
    WHERE h.price_decimal IS NOT NULL
    UNION ALL
    SELECT h.race_id, h.horse_id, h.bookmaker_id, h.source_time, h.price_decimal, h.ew_places,
           h.ew_denom, 'historical'
    FROM results r
    JOIN odds_historical h ON h.race_id = r.race_id AND h.source_time <= r.off_dt
    WHERE h.price_decimal IS NOT NULL
), chosen AS (
    SELECT o.*, max(o.price_source) OVER (PARTITION BY o.race_id) AS race_source
    FROM observed o
)
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
WHERE price_source = race_source  -- 'historical' < 'live': max() is live if the race has any
WINDOW w AS (PARTITION BY race_id, horse_id, bookmaker_id)
ORDER BY race_id, horse_id, bookmaker_id, source_time DESC;

-- Historical odds per runner (as in 0003: min/max/mean across bookmakers of each one's last
-- pre-race price), now from historical_odds_bookmakers, with the source of its prices and the
-- race's and runner's details (columns appended; the first ones are unchanged).
CREATE OR REPLACE VIEW historical_odds AS
WITH per_runner AS (
    SELECT race_id, horse_id,
           min(last_price) AS min_price,
           max(last_price) AS max_price,
           round(avg(last_price), 4) AS mean_price,
           count(*) AS bookmakers,
           max(price_source) AS price_source
    FROM historical_odds_bookmakers
    GROUP BY race_id, horse_id
)
SELECT rr.race_id, rr.horse_id, rr.horse, r.off_dt, r.course_id, r.region_code,
       p.min_price, p.max_price, p.mean_price, coalesce(p.bookmakers, 0) AS bookmakers,
       rr.sp, rr.sp_decimal, rr.sp_favourite, rr.sp_rank, rr.position, rr.finished,
       rr.beaten_lengths, r.field_size, r.ew_places, r.ew_fraction,
       rr.win_return, rr.place_return, rr.ew_return,
       p.price_source,
       coalesce(r.race_name, ra.race_name) AS race_name,
       coalesce(r.race_type, ra.race_type) AS race_type,
       coalesce(r.race_class, ra.race_class) AS race_class,
       coalesce(r.going, ra.going) AS going,
       coalesce(r.distance_f, ra.distance_f) AS distance_f,
       r.handicap,
       coalesce(rr.jockey_id, ru.jockey_id) AS jockey_id,
       j.jockey,
       coalesce(rr.trainer_id, ru.trainer_id) AS trainer_id,
       t.trainer,
       coalesce(rr.official_rating, ru.official_rating) AS official_rating,
       coalesce(rr.weight_lbs, ru.weight_lbs) AS weight_lbs,
       coalesce(rr.draw, ru.draw) AS draw,
       coalesce(rr.number, ru.number) AS number,
       rr.bsp,
       rr.sp_joint_favourite
FROM result_runners rr
JOIN results r USING (race_id)
LEFT JOIN per_runner p USING (race_id, horse_id)
LEFT JOIN races ra USING (race_id)
LEFT JOIN runners ru USING (race_id, horse_id)
LEFT JOIN jockeys j ON j.jockey_id = coalesce(rr.jockey_id, ru.jockey_id)
LEFT JOIN trainers t ON t.trainer_id = coalesce(rr.trainer_id, ru.trainer_id);

-- Each-way terms a bookmaker offered on a settled race where they differ from the standard
-- ones (its last pre-race ew_places/ew_denom): extra places, and the place return of a 1-unit
-- place stake at SP on its terms (as streams/returns.py: 1 + (SP - 1) / denominator if placed).
CREATE VIEW bookmaker_each_way AS
SELECT b.race_id, b.horse_id, b.bookmaker_id, b.ew_places, b.ew_denom,
       r.ew_places AS standard_places, r.ew_fraction AS standard_fraction,
       b.ew_places - r.ew_places AS extra_places,
       CASE WHEN rr.sp_decimal IS NULL THEN NULL
            WHEN rr.finished IS NOT NULL AND rr.finished <= b.ew_places
                THEN round(1 + (rr.sp_decimal - 1) / b.ew_denom, 6)
            ELSE 0 END AS place_return
FROM historical_odds_bookmakers b
JOIN results r USING (race_id)
JOIN result_runners rr USING (race_id, horse_id)
WHERE b.ew_places IS NOT NULL AND b.ew_denom IS NOT NULL AND b.ew_places > 0 AND b.ew_denom > 0;
