-- Latest price per race x runner x bookmaker, kept by the streams sink.
-- `version_time`/`version_event` guard upserts so a replayed or out-of-order event never
-- overwrites a newer price.
CREATE TABLE odds_latest (
    race_id          text        NOT NULL,
    horse_id         text        NOT NULL,
    bookmaker_id     text        NOT NULL,
    bookmaker        text        NOT NULL,
    price_decimal    numeric(12, 4),
    price_fractional text,
    ew_places        smallint,
    ew_denom         smallint,
    source           text        NOT NULL,
    source_time      timestamptz NOT NULL,
    ingest_time      timestamptz NOT NULL,
    event_id         text        NOT NULL,
    written_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (race_id, horse_id, bookmaker_id)
);

CREATE INDEX odds_latest_source_time ON odds_latest (source_time DESC);

-- Events the streams rejected, mirrored from the dead-letter topic for inspection.
CREATE TABLE dead_letters (
    topic      text        NOT NULL,
    partition  integer     NOT NULL,
    "offset"   bigint      NOT NULL,
    key        text,
    value      text        NOT NULL,
    reason     text        NOT NULL,
    consumer   text        NOT NULL,
    failed_at  timestamptz NOT NULL,
    PRIMARY KEY (topic, partition, "offset", consumer)
);
