-- Jockey, trainer and owner form from one definition. 0003 wrote the same SELECT three times,
-- differing only in whose id and name it grouped by; `people_stats` computes it once with a
-- `role` column, and the three views of 0003 become thin filters of it with their old column
-- names, types and order, so every query against them reads what it read before. A filter on
-- `role` (or on the id) is pushed through the GROUP BY into the one branch of the UNION ALL that
-- can match, so each thin view still scans only its own people.
--
-- Form: rides (runs), wins, places (first three), win and place rates, last ride/win, and
-- 14/30-day form relative to now(). Results do not carry the owner: it comes from the
-- racecard's runner.

DROP VIEW jockey_stats, trainer_stats, owner_stats;

CREATE VIEW people_stats AS
SELECT role, person_id, name,
       count(*) AS rides,
       count(*) FILTER (WHERE finished = 1) AS wins,
       count(*) FILTER (WHERE finished <= 3) AS places,
       round(count(*) FILTER (WHERE finished = 1)::numeric / count(*), 4) AS win_rate,
       round(count(*) FILTER (WHERE finished <= 3)::numeric / count(*), 4) AS place_rate,
       max(off_dt) AS last_ride,
       max(off_dt) FILTER (WHERE finished = 1) AS last_win,
       count(*) FILTER (WHERE off_dt >= now() - interval '14 days') AS rides_14d,
       count(*) FILTER (WHERE off_dt >= now() - interval '14 days' AND finished = 1) AS wins_14d,
       count(*) FILTER (WHERE off_dt >= now() - interval '30 days') AS rides_30d,
       count(*) FILTER (WHERE off_dt >= now() - interval '30 days' AND finished = 1) AS wins_30d
FROM (
    SELECT 'jockey'::text AS role, rr.jockey_id AS person_id, j.jockey AS name,
           rr.finished, r.off_dt
    FROM result_runners rr
    JOIN results r USING (race_id)
    LEFT JOIN jockeys j ON j.jockey_id = rr.jockey_id
    WHERE rr.jockey_id IS NOT NULL
    UNION ALL
    SELECT 'trainer'::text, rr.trainer_id, t.trainer, rr.finished, r.off_dt
    FROM result_runners rr
    JOIN results r USING (race_id)
    LEFT JOIN trainers t ON t.trainer_id = rr.trainer_id
    WHERE rr.trainer_id IS NOT NULL
    UNION ALL
    SELECT 'owner'::text, ru.owner_id, o.owner, rr.finished, r.off_dt
    FROM result_runners rr
    JOIN results r USING (race_id)
    JOIN runners ru USING (race_id, horse_id)
    LEFT JOIN owners o ON o.owner_id = ru.owner_id
    WHERE ru.owner_id IS NOT NULL
) AS appearances
GROUP BY role, person_id, name;

CREATE VIEW jockey_stats AS
SELECT person_id AS jockey_id, name AS jockey,
       rides, wins, places, win_rate, place_rate, last_ride, last_win,
       rides_14d, wins_14d, rides_30d, wins_30d
FROM people_stats
WHERE role = 'jockey';

CREATE VIEW trainer_stats AS
SELECT person_id AS trainer_id, name AS trainer,
       rides AS runs, wins, places, win_rate, place_rate, last_ride AS last_run, last_win,
       rides_14d AS runs_14d, wins_14d, rides_30d AS runs_30d, wins_30d
FROM people_stats
WHERE role = 'trainer';

CREATE VIEW owner_stats AS
SELECT person_id AS owner_id, name AS owner,
       rides AS runs, wins, places, win_rate, place_rate, last_ride AS last_run, last_win,
       rides_14d AS runs_14d, wins_14d, rides_30d AS runs_30d, wins_30d
FROM people_stats
WHERE role = 'owner';

-- On a fresh database 0050 runs after this and grants SELECT on every table and view; on one
-- migrated before, its default privileges cover views made by the same user, and this grant
-- covers the rest (views made again lose the grants the old ones had).
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'darkhorses_reader') THEN
        GRANT SELECT ON people_stats, jockey_stats, trainer_stats, owner_stats
            TO darkhorses_reader;
    END IF;
END
$$;
