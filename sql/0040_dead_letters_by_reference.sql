-- Dead letters keep oversize records by reference (topic, partition, offset) and their size,
-- not by copy: `value` is NULL for a record over the copy limit (schemas/deadletter.py).
ALTER TABLE dead_letters ALTER COLUMN value DROP NOT NULL;
ALTER TABLE dead_letters ADD COLUMN size bigint;
