-- `bookmaker_each_way` (0011) repeated the place return of streams/returns.py in SQL, and no route
-- or job read it: one owner per number, so it goes. The per-bookmaker terms it showed stay in
-- historical_odds_bookmakers (ew_places, ew_denom).
DROP VIEW bookmaker_each_way;
