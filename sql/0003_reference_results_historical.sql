-- Reference data, results and historical odds, kept by streams/reference.py from racecards,
-- results and racing.odds.historical.v1. Every row carries the (source_time, event_id) of the
-- event that wrote it: the version guard of the idempotent upserts.

CREATE TABLE regions (
    region_code  text PRIMARY KEY,
    name         text NOT NULL
);
INSERT INTO regions (region_code, name) VALUES ('GB', 'Great Britain'), ('IRE', 'Ireland');

CREATE TABLE bookmakers (
    bookmaker_id  text    PRIMARY KEY,
    name          text    NOT NULL,
    type          text    NOT NULL,
    known         boolean NOT NULL DEFAULT true,
    first_seen    timestamptz NOT NULL DEFAULT now()
);

-- The bookmaker registry (schemas/bookmakers.py) at the time of this migration; bookmakers first
-- seen later are added by the streams as they appear.
INSERT INTO bookmakers (bookmaker_id, name, type) VALUES
    ('bet365', 'Bet365', 'fixed'),
    ('william_hill', 'William Hill', 'fixed'),
    ('coral', 'Coral', 'fixed'),
    ('betfred', 'Betfred', 'fixed'),
    ('boylesports', 'Boyle Sports', 'fixed'),
    ('ladbrokes', 'Ladbrokes', 'fixed'),
    ('unibet', 'Unibet', 'fixed'),
    ('betgoodwin', 'Bet Goodwin', 'fixed'),
    ('betvictor', 'Bet Victor', 'fixed'),
    ('10bet', '10 Bet', 'fixed'),
    ('betmgm', 'BetMGM', 'fixed'),
    ('grosvenor', 'Grosvenor Sports', 'fixed'),
    ('betway', 'Betway', 'fixed'),
    ('virgin_bet', 'Virgin Bet', 'fixed'),
    ('talksport_bet', 'talkSPORT BET', 'fixed'),
    ('dragon_bet', 'Dragon Bet', 'fixed'),
    ('copybet', 'CopyBet', 'fixed'),
    ('pricedup', 'PricedUp Bet', 'fixed'),
    ('spreadex', 'Spreadex', 'spread'),
    ('bresbet', 'BresBet', 'fixed'),
    ('star_sports', 'Star Sports', 'fixed'),
    ('7bet', '7Bet', 'fixed'),
    ('bettom', 'BetTom', 'fixed'),
    ('gentlemen_jim', 'Gentlemen Jim', 'fixed'),
    ('midnite', 'Midnite', 'fixed'),
    ('sporting_index', 'SportingIndex', 'spread'),
    ('quinnbet', 'Quinn Bet', 'fixed'),
    ('betfair_exchange', 'Betfair Exchange', 'exchange'),
    ('sky_bet', 'Sky Bet', 'fixed'),
    ('paddy_power', 'Paddy Power', 'fixed'),
    ('888sport', '888 Sport', 'fixed'),
    ('betfair_sportsbook', 'Betfair Sportsbook', 'fixed'),
    ('betuk', 'Bet UK', 'fixed'),
    ('livescore_bet', 'Livescore Bet', 'fixed'),
    ('parimatch', 'Pari Match', 'fixed'),
    ('vbet', 'V Bet', 'fixed'),
    ('tote', 'Tote', 'tote'),
    ('matchbook', 'Matchbook', 'exchange');

CREATE TABLE courses (
    course_id    text        PRIMARY KEY,
    course       text        NOT NULL,
    region_code  text        NOT NULL,
    source_time  timestamptz NOT NULL,
    event_id     text        NOT NULL
);

CREATE TABLE races (
    race_id       text        PRIMARY KEY,
    course_id     text        NOT NULL,
    course        text        NOT NULL,
    region_code   text        NOT NULL,
    race_date     date        NOT NULL,
    off_dt        timestamptz NOT NULL,
    race_name     text        NOT NULL,
    race_type     text,
    race_class    text,
    distance_f    numeric(6, 2),
    going         text,
    surface       text,
    field_size    integer,
    is_abandoned  boolean     NOT NULL,
    source_time   timestamptz NOT NULL,
    event_id      text        NOT NULL
);
CREATE INDEX races_off_dt ON races (off_dt);

CREATE TABLE runners (
    race_id      text        NOT NULL,
    horse_id     text        NOT NULL,
    horse        text        NOT NULL,
    number       integer,
    draw         integer,
    age          integer,
    weight_lbs   integer,
    jockey_id    text,
    trainer_id   text,
    owner_id     text,
    non_runner   boolean     NOT NULL,
    source_time  timestamptz NOT NULL,
    event_id     text        NOT NULL,
    PRIMARY KEY (race_id, horse_id)
);

CREATE TABLE horses (
    horse_id     text        PRIMARY KEY,
    horse        text        NOT NULL,
    sire_id      text,
    dam_id       text,
    damsire_id   text,
    source_time  timestamptz NOT NULL,
    event_id     text        NOT NULL
);

CREATE TABLE jockeys (
    jockey_id    text        PRIMARY KEY,
    jockey       text        NOT NULL,
    source_time  timestamptz NOT NULL,
    event_id     text        NOT NULL
);
CREATE TABLE trainers (
    trainer_id   text        PRIMARY KEY,
    trainer      text        NOT NULL,
    source_time  timestamptz NOT NULL,
    event_id     text        NOT NULL
);
CREATE TABLE owners (
    owner_id     text        PRIMARY KEY,
    owner        text        NOT NULL,
    source_time  timestamptz NOT NULL,
    event_id     text        NOT NULL
);

CREATE TABLE results (
    race_id      text        PRIMARY KEY,
    off_dt       timestamptz NOT NULL,
    course_id    text,
    region_code  text,
    field_size   integer     NOT NULL,
    ew_places    integer,
    ew_fraction  text,
    source_time  timestamptz NOT NULL,
    event_id     text        NOT NULL
);

-- Per runner: position, SP, SP favourite rank and the returns of a 1-unit stake (docs/domain.md
-- §3): win = SP if won; place = 1 + (SP - 1) x fraction if placed; each way = win + place
-- (a 2-unit bet). NULL place/each-way returns in win-only races (fewer than 5 runners).
CREATE TABLE result_runners (
    race_id         text        NOT NULL,
    horse_id        text        NOT NULL,
    horse           text        NOT NULL,
    position        text        NOT NULL,
    finished        integer,
    sp              text,
    sp_decimal      numeric(12, 4),
    sp_favourite    boolean     NOT NULL,
    sp_rank         integer,
    beaten_lengths  numeric(8, 2),
    weight_lbs      integer,
    jockey_id       text,
    trainer_id      text,
    win_return      numeric(14, 6),
    place_return    numeric(14, 6),
    ew_return       numeric(14, 6),
    source_time     timestamptz NOT NULL,
    event_id        text        NOT NULL,
    PRIMARY KEY (race_id, horse_id)
);
CREATE INDEX result_runners_jockey ON result_runners (jockey_id);
CREATE INDEX result_runners_trainer ON result_runners (trainer_id);

-- Pre-race prices of past races (racing.odds.historical.v1), one row per observation.
CREATE TABLE odds_historical (
    race_id          text           NOT NULL,
    horse_id         text           NOT NULL,
    bookmaker_id     text           NOT NULL,
    source_time      timestamptz    NOT NULL,
    price_decimal    numeric(12, 4),
    price_fractional text,
    ew_places        smallint,
    ew_denom         smallint,
    source           text           NOT NULL,
    event_id         text           NOT NULL,
    PRIMARY KEY (race_id, horse_id, bookmaker_id, source_time)
);

-- Historical odds per runner: each bookmaker's last price before the off, then min/max/mean
-- across bookmakers, joined with the result (the old bugs fixed: region from the result, the off
-- from off_dt, keyed by race_id + horse_id). Always current: a view over what the stream wrote.
CREATE VIEW historical_odds AS
WITH last_price AS (
    SELECT DISTINCT ON (h.race_id, h.horse_id, h.bookmaker_id)
           h.race_id, h.horse_id, h.bookmaker_id, h.price_decimal, h.ew_places, h.ew_denom
    FROM odds_historical h
    JOIN results r USING (race_id)
    WHERE h.source_time <= r.off_dt AND h.price_decimal IS NOT NULL
    ORDER BY h.race_id, h.horse_id, h.bookmaker_id, h.source_time DESC
), per_runner AS (
    SELECT race_id, horse_id,
           min(price_decimal) AS min_price,
           max(price_decimal) AS max_price,
           round(avg(price_decimal), 4) AS mean_price,
           count(*) AS bookmakers
    FROM last_price
    GROUP BY race_id, horse_id
)
SELECT rr.race_id, rr.horse_id, rr.horse, r.off_dt, r.course_id, r.region_code,
       p.min_price, p.max_price, p.mean_price, coalesce(p.bookmakers, 0) AS bookmakers,
       rr.sp, rr.sp_decimal, rr.sp_favourite, rr.sp_rank, rr.position, rr.finished,
       rr.beaten_lengths, r.field_size, r.ew_places, r.ew_fraction,
       rr.win_return, rr.place_return, rr.ew_return
FROM result_runners rr
JOIN results r USING (race_id)
LEFT JOIN per_runner p USING (race_id, horse_id);

-- Jockey, trainer and owner form from results: rides, wins, places (first three), win and
-- place rates, last ride/win, and 14/30-day form relative to now().
CREATE VIEW jockey_stats AS
SELECT rr.jockey_id, j.jockey,
       count(*) AS rides,
       count(*) FILTER (WHERE rr.finished = 1) AS wins,
       count(*) FILTER (WHERE rr.finished <= 3) AS places,
       round(count(*) FILTER (WHERE rr.finished = 1)::numeric / count(*), 4) AS win_rate,
       round(count(*) FILTER (WHERE rr.finished <= 3)::numeric / count(*), 4) AS place_rate,
       max(r.off_dt) AS last_ride,
       max(r.off_dt) FILTER (WHERE rr.finished = 1) AS last_win,
       count(*) FILTER (WHERE r.off_dt >= now() - interval '14 days') AS rides_14d,
       count(*) FILTER (WHERE r.off_dt >= now() - interval '14 days' AND rr.finished = 1) AS wins_14d,
       count(*) FILTER (WHERE r.off_dt >= now() - interval '30 days') AS rides_30d,
       count(*) FILTER (WHERE r.off_dt >= now() - interval '30 days' AND rr.finished = 1) AS wins_30d
FROM result_runners rr
JOIN results r USING (race_id)
LEFT JOIN jockeys j ON j.jockey_id = rr.jockey_id
WHERE rr.jockey_id IS NOT NULL
GROUP BY rr.jockey_id, j.jockey;

CREATE VIEW trainer_stats AS
SELECT rr.trainer_id, t.trainer,
       count(*) AS runs,
       count(*) FILTER (WHERE rr.finished = 1) AS wins,
       count(*) FILTER (WHERE rr.finished <= 3) AS places,
       round(count(*) FILTER (WHERE rr.finished = 1)::numeric / count(*), 4) AS win_rate,
       round(count(*) FILTER (WHERE rr.finished <= 3)::numeric / count(*), 4) AS place_rate,
       max(r.off_dt) AS last_run,
       max(r.off_dt) FILTER (WHERE rr.finished = 1) AS last_win,
       count(*) FILTER (WHERE r.off_dt >= now() - interval '14 days') AS runs_14d,
       count(*) FILTER (WHERE r.off_dt >= now() - interval '14 days' AND rr.finished = 1) AS wins_14d,
       count(*) FILTER (WHERE r.off_dt >= now() - interval '30 days') AS runs_30d,
       count(*) FILTER (WHERE r.off_dt >= now() - interval '30 days' AND rr.finished = 1) AS wins_30d
FROM result_runners rr
JOIN results r USING (race_id)
LEFT JOIN trainers t ON t.trainer_id = rr.trainer_id
WHERE rr.trainer_id IS NOT NULL
GROUP BY rr.trainer_id, t.trainer;

-- Results do not carry the owner: it comes from the racecard's runner.
CREATE VIEW owner_stats AS
SELECT ru.owner_id, o.owner,
       count(*) AS runs,
       count(*) FILTER (WHERE rr.finished = 1) AS wins,
       count(*) FILTER (WHERE rr.finished <= 3) AS places,
       round(count(*) FILTER (WHERE rr.finished = 1)::numeric / count(*), 4) AS win_rate,
       round(count(*) FILTER (WHERE rr.finished <= 3)::numeric / count(*), 4) AS place_rate,
       max(r.off_dt) AS last_run,
       max(r.off_dt) FILTER (WHERE rr.finished = 1) AS last_win,
       count(*) FILTER (WHERE r.off_dt >= now() - interval '14 days') AS runs_14d,
       count(*) FILTER (WHERE r.off_dt >= now() - interval '14 days' AND rr.finished = 1) AS wins_14d,
       count(*) FILTER (WHERE r.off_dt >= now() - interval '30 days') AS runs_30d,
       count(*) FILTER (WHERE r.off_dt >= now() - interval '30 days' AND rr.finished = 1) AS wins_30d
FROM result_runners rr
JOIN results r USING (race_id)
JOIN runners ru USING (race_id, horse_id)
LEFT JOIN owners o ON o.owner_id = ru.owner_id
WHERE ru.owner_id IS NOT NULL
GROUP BY ru.owner_id, o.owner;
