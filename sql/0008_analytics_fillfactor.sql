-- The analytics tables are rewritten row by row as the market moves (an upsert per race, book
-- and runner read-out): free space in each page keeps those updates on the page (HOT), without
-- a new index entry per update. Only pages written from now on keep the space.
ALTER TABLE race_analytics SET (fillfactor = 50);
ALTER TABLE race_book_analytics SET (fillfactor = 50);
ALTER TABLE runner_analytics SET (fillfactor = 50);
ALTER TABLE bookmaker_analytics SET (fillfactor = 50);
ALTER TABLE market_races SET (fillfactor = 50);
