-- Bookmaker analytics are added up across race partitions (streams/bookmakers.py); `revision`
-- is the offset of the part that last changed a row, the upsert's tie-break after `as_of`.
ALTER TABLE bookmaker_analytics ADD COLUMN revision bigint NOT NULL DEFAULT 0;
