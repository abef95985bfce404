-- roam's schema, the same on every node. Only the parent tables live here; which partitions a
-- node stores itself and which it reaches through postgres_fdw depends on the node's region and
-- is generated from the region map by `roam-origin migrate` (origin/src/topology.rs), so that
-- adding a region is a change of data, not of this file.
--
-- `city` leads every key (MovR's layout): it is the partition key, so a query about one city is
-- pruned to that city's home node, and the same keys work on CockroachDB REGIONAL BY ROW.
-- Parents carry no primary key: PostgreSQL 15 refuses a unique index on a partitioned table
-- that has foreign partitions, so each node's local partition carries PRIMARY KEY (city, id).
-- No foreign keys either, for the same reason (foreign tables cannot take part in them); the
-- origin checks cities against the map, and partition bounds refuse unknown cities.

-- Reference tables: identical on every node, filled (upserted) from the region map.
CREATE TABLE regions (
    name  text PRIMARY KEY,
    label text NOT NULL,
    lat   double precision NOT NULL,
    lon   double precision NOT NULL
);

CREATE TABLE cities (
    slug    text PRIMARY KEY,
    name    text NOT NULL,
    region  text NOT NULL REFERENCES regions (name),
    country text NOT NULL,
    lat     double precision NOT NULL,
    lon     double precision NOT NULL
);

CREATE TABLE users (
    city          text NOT NULL,
    id            uuid NOT NULL,
    name          text NOT NULL,
    email         text NOT NULL,
    -- Argon2id PHC string; never leaves the origin.
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
) PARTITION BY LIST (city);

CREATE TABLE vehicles (
    city          text NOT NULL,
    id            uuid NOT NULL,
    type          text NOT NULL CHECK (type IN ('bike', 'scooter', 'skateboard')),
    owner_id      uuid NOT NULL,
    date_added    timestamptz NOT NULL DEFAULT now(),
    status        text NOT NULL CHECK (status IN ('available', 'unavailable')),
    last_location text NOT NULL,
    color         text,
    brand         text
) PARTITION BY LIST (city);

-- A ride lives in its vehicle's city; the rider may be from anywhere (rider_city says where
-- the rider's row is), which is why /me/rides reads every partition.
CREATE TABLE rides (
    city           text NOT NULL,
    id             uuid NOT NULL,
    rider_id       uuid NOT NULL,
    rider_city     text NOT NULL,
    vehicle_id     uuid NOT NULL,
    start_location text NOT NULL,
    end_location   text,
    start_time     timestamptz NOT NULL DEFAULT now(),
    end_time       timestamptz
) PARTITION BY LIST (city);

-- Idempotency records live beside the rows they guard (partitioned by the same city), so the
-- record commits in the same single-node transaction as the effect, whichever origin ran it.
-- Key: (city, key). `status` is 0 while the transaction that claimed the key is running (only
-- that transaction can see it); committed records always hold the final status and body.
CREATE TABLE idempotency (
    city         text NOT NULL,
    key          text NOT NULL,
    -- SHA-256 of method, path, caller and body: the same key with another request is a 422.
    request_hash text NOT NULL,
    status       smallint NOT NULL,
    -- The exact response body bytes (text, not jsonb, so a replay is byte-identical).
    body         text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
) PARTITION BY LIST (city);

-- Global email uniqueness: no index spans foreign partitions, so each email is claimed on one
-- node chosen by a pure function of the email (roam_shared::routing::claim_region). The claim
-- also says where the user lives, so log-in needs no scan of every region.
CREATE TABLE email_claims (
    region          text NOT NULL,
    email           text NOT NULL,
    user_id         uuid NOT NULL,
    city            text NOT NULL,
    -- The sign-up's idempotency key, so a retried sign-up finds its own claim.
    idempotency_key text,
    created_at      timestamptz NOT NULL DEFAULT now()
) PARTITION BY LIST (region);

-- /me/rides looks rides up by rider on every node; the index is created per local partition.
CREATE INDEX rides_rider ON rides (rider_id, start_time DESC);
-- Vehicle lists are per city, newest first, optionally by status.
CREATE INDEX vehicles_city_status ON vehicles (city, status, date_added DESC);
