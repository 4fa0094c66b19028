-- The odds pipeline keeps its whole state in PostgreSQL, written in the same transaction as the
-- rows it produced: the odds offsets it consumed, each race's market header and, in
-- odds_latest, each quote's recent price changes. A restarted worker rebuilds its market board
-- from these and resumes at exactly the offsets they reflect, so no event is applied twice or
-- skipped, and no Kafka changelog is written per batch.

CREATE TABLE stream_offsets (
    consumer     text        NOT NULL,
    topic        text        NOT NULL,
    partition    integer     NOT NULL,
    next_offset  bigint      NOT NULL,
    written_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, topic, partition)
);

-- One row per race: status, card facts, update times and per-bookmaker coverage counters
-- (streams/race_market.py `RaceMarket.dump_header`). `revision` guards the upsert.
CREATE TABLE market_races (
    race_id     text        PRIMARY KEY,
    revision    bigint      NOT NULL,
    header      jsonb       NOT NULL,
    written_at  timestamptz NOT NULL DEFAULT now()
);

-- The quote's price changes inside the analytics windows, [[microseconds, price], ...] as JSON
-- text (state for the board, not for queries, so it is not parsed on every write).
ALTER TABLE odds_latest ADD COLUMN window_changes text NOT NULL DEFAULT '[]';

-- Every batch rewrites the rows of the quotes it changed: free space in each page lets those
-- updates stay on the page (HOT), without a new index entry per update.
ALTER TABLE odds_latest SET (fillfactor = 50);
