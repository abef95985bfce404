-- What an attacker on the internet tries, and the rows that stop it.

-- Failed log-ins per account, kept at the account's home (partitioned by the user's city):
-- after ROAM_LOGIN_FREE_FAILURES failures in a row, each further one locks the account for a
-- doubling while (`locked_until`, capped); a log-in during the lock is refused with 429 before
-- the password is even checked, and a successful log-in clears the row.
CREATE TABLE login_failures (
    city         text NOT NULL,
    user_id      uuid NOT NULL,
    failures     integer NOT NULL,
    locked_until timestamptz,
    updated_at   timestamptz NOT NULL DEFAULT now()
) PARTITION BY LIST (city);

-- Ended sessions. A session token is signed and verified without a database read; to end one
-- (log-out) or all of a user's (log out everywhere) before it expires, its id (or the user and
-- a time) is written to EVERY node, in parallel, and every request that acts for a user checks
-- its own node: no round trip to the user's home on a write taken elsewhere. These tables are
-- the same on every node and are not partitioned; a row goes once the tokens it ends expire.
CREATE TABLE revoked_sessions (
    sid        uuid PRIMARY KEY,
    user_id    uuid NOT NULL,
    expires_at timestamptz NOT NULL
);

CREATE TABLE revoked_users (
    user_id        uuid PRIMARY KEY,
    -- Tokens issued before this are ended.
    revoked_before timestamptz NOT NULL,
    expires_at     timestamptz NOT NULL
);

CREATE INDEX revoked_sessions_expiry ON revoked_sessions (expires_at);
CREATE INDEX revoked_users_expiry ON revoked_users (expires_at);

-- At most one open ride per user, whichever region it is in: a marker at the rider's home
-- (partitioned by the rider's home city), its primary key the rule. A ride started at home
-- writes it in the start's own transaction and an end at home deletes it in the end's; a ride
-- started away from home writes it first (one round trip to home), and its end clears it
-- through the ride's `ride_ended` job. A marker whose ride has ended, or never came to be, is
-- taken over by the rider's next start.
CREATE TABLE open_rides (
    city       text NOT NULL,
    rider_id   uuid NOT NULL,
    ride_city  text NOT NULL,
    ride_id    uuid NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now()
) PARTITION BY LIST (city);

-- Vehicles added by one owner in the last hour (the per-user limit on additions).
CREATE INDEX vehicles_owner_added ON vehicles (owner_id, date_added DESC);

-- The vehicle list is paged (`?after=<cursor>`), newest first with the id breaking ties in
-- the same direction, so a page continues from a (date_added, id) pair with one row
-- comparison these indexes serve in order. They replace 0002's, whose id ran the other way.
DROP INDEX IF EXISTS vehicles_city_newest;
DROP INDEX IF EXISTS vehicles_city_status_newest;
CREATE INDEX vehicles_city_page ON vehicles (city, date_added DESC, id DESC);
CREATE INDEX vehicles_city_status_page ON vehicles (city, status, date_added DESC, id DESC);
