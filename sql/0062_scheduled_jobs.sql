-- The scheduler's jobs (darkhorses/scheduler.py): what each last did and when it runs next,
-- written by `darkhorses schedule`, read by `GET /v1/jobs`. `watermark` is the last day a daily
-- job completed, so a restart catches up the days it missed.
CREATE TABLE scheduled_jobs (
    name                  text        PRIMARY KEY,
    schedule              text        NOT NULL,
    state                 text        NOT NULL,  -- idle, running, retrying, failed
    last_started          timestamptz,
    last_finished         timestamptz,
    last_outcome          text,                  -- ok, failed
    last_error            text,
    last_success          timestamptz,
    next_run              timestamptz,
    runs                  bigint      NOT NULL DEFAULT 0,
    failures              bigint      NOT NULL DEFAULT 0,
    consecutive_failures  integer     NOT NULL DEFAULT 0,
    watermark             date,
    updated_at            timestamptz NOT NULL DEFAULT now()
);
