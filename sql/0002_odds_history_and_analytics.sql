-- Every price observation, the story of each runner x bookmaker quote, and the live analytics
-- the streams compute (docs/domain.md §5). All written idempotently by streams/analytics.py.

-- One row per price published (producers publish changes only; a full image after a restart
-- re-states prices). The natural key makes a replay insert nothing twice.
CREATE TABLE odds_history (
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
    ingest_time      timestamptz    NOT NULL,
    PRIMARY KEY (race_id, horse_id, bookmaker_id, source_time)
);
-- Time-ordered appends: a BRIN index is tiny and serves time-range scans.
CREATE INDEX odds_history_source_time ON odds_history USING brin (source_time);

-- Per runner x bookmaker: opening (first seen), high, low and number of changes.
CREATE TABLE odds_quotes (
    race_id       text           NOT NULL,
    horse_id      text           NOT NULL,
    bookmaker_id  text           NOT NULL,
    opening       numeric(12, 4),
    high          numeric(12, 4),
    low           numeric(12, 4),
    changes       integer        NOT NULL,
    last_change   timestamptz    NOT NULL,
    source_time   timestamptz    NOT NULL,
    event_id      text           NOT NULL,
    PRIMARY KEY (race_id, horse_id, bookmaker_id)
);

CREATE TABLE race_analytics (
    race_id               text        PRIMARY KEY,
    revision              bigint      NOT NULL,
    as_of                 timestamptz NOT NULL,
    status                text        NOT NULL,
    off_dt                timestamptz,
    books_priced          integer     NOT NULL,
    runners_priced        integer     NOT NULL,
    best_book_percent     double precision,
    update_rate_per_min   double precision NOT NULL,
    stalest_bookmaker_id  text,
    stalest_age_s         double precision,
    written_at            timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE race_book_analytics (
    race_id         text        NOT NULL,
    bookmaker_id    text        NOT NULL,
    revision        bigint      NOT NULL,
    book_percent    double precision,
    runners_priced  integer     NOT NULL,
    complete        boolean     NOT NULL,
    last_update     timestamptz NOT NULL,
    PRIMARY KEY (race_id, bookmaker_id)
);

CREATE TABLE runner_analytics (
    race_id                  text        NOT NULL,
    horse_id                 text        NOT NULL,
    revision                 bigint      NOT NULL,
    as_of                    timestamptz NOT NULL,
    non_runner               boolean     NOT NULL,
    books_priced             integer     NOT NULL,
    best_price               numeric(12, 4),
    best_books               text[]      NOT NULL,
    consensus_price          numeric(12, 4),
    implied_probability      double precision,
    fair_proportional        double precision,
    fair_power               double precision,
    fair_shin                double precision,
    opening_consensus_price  numeric(12, 4),
    move_since_open          double precision,
    move_5m                  double precision,
    move_15m                 double precision,
    move_60m                 double precision,
    steamer                  boolean     NOT NULL,
    drifter                  boolean     NOT NULL,
    PRIMARY KEY (race_id, horse_id)
);

CREATE TABLE bookmaker_analytics (
    bookmaker_id         text        PRIMARY KEY,
    bookmaker            text        NOT NULL,
    as_of                timestamptz NOT NULL,
    prices               bigint      NOT NULL,
    races                integer     NOT NULL,
    runners              integer     NOT NULL,
    update_rate_per_min  double precision NOT NULL,
    median_staleness_s   double precision,
    last_update          timestamptz
);

-- The market status of each race (from racing.market.state.v1).
CREATE TABLE market_status (
    race_id      text        PRIMARY KEY,
    status       text        NOT NULL,
    reason       text,
    source_time  timestamptz NOT NULL,
    event_id     text        NOT NULL
);

-- One row per producer cycle (racing.fetch.stats.v1).
CREATE TABLE fetch_stats (
    producer     text             NOT NULL,
    source_time  timestamptz      NOT NULL,
    event_id     text             NOT NULL,
    races        integer          NOT NULL,
    runners      integer          NOT NULL,
    bookmakers   integer          NOT NULL,
    prices       integer          NOT NULL,
    unpriced     integer          NOT NULL,
    errors       integer          NOT NULL,
    duration_s   double precision NOT NULL,
    PRIMARY KEY (producer, source_time, event_id)
);
