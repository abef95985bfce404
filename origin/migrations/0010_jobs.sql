-- Background work on a queue that lives in the database (no broker to run), and what its first
-- job produces: a ride's fare and the vehicle's location history.
--
-- Jobs are partitioned by city like the rows they act on. The job that an ended ride needs is
-- inserted in the same transaction as the ride's end, so it lands on the ride's home node even
-- when the end-ride came through another region's origin (postgres_fdw writes the foreign
-- partition in the same remote transaction as the ride). Each region's workers claim jobs from
-- their node's local partition only (`FOR UPDATE SKIP LOCKED`), so a job runs where its data is.

-- The fare, once the ride's job has run (NULL until then). Integer minor units (cents), never
-- floating point; the currency is the city's at the time the fare was computed.
ALTER TABLE rides ADD COLUMN fare_cents bigint;
ALTER TABLE rides ADD COLUMN fare_currency text;

CREATE TABLE jobs (
    city       text NOT NULL,
    id         uuid NOT NULL,
    -- What to run, e.g. 'ride_ended'; the payload is that kind's arguments.
    kind       text NOT NULL,
    payload    jsonb NOT NULL,
    -- 'pending' until it succeeds (then the row is deleted: the effect is the record) or fails
    -- too often ('dead': set aside with its last error for a person to look at).
    status     text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'dead')),
    -- Failed attempts so far; the retry waits a capped exponential backoff (run_after).
    attempts   integer NOT NULL DEFAULT 0,
    run_after  timestamptz NOT NULL DEFAULT now(),
    last_error text,
    -- When it was enqueued (the ride's end): job latency is measured from here.
    created_at timestamptz NOT NULL DEFAULT now()
) PARTITION BY LIST (city);

-- The workers' claim query: the oldest due pending job. Created on each local partition.
CREATE INDEX jobs_due ON jobs (run_after) WHERE status = 'pending';

-- MovR's vehicle_location_history: where a vehicle was, here one row per ride (its end), keyed
-- by the ride, so the job that appends it can run twice and still leave one row.
CREATE TABLE vehicle_location_history (
    city        text NOT NULL,
    ride_id     uuid NOT NULL,
    vehicle_id  uuid NOT NULL,
    "timestamp" timestamptz NOT NULL,
    location    text NOT NULL
) PARTITION BY LIST (city);
