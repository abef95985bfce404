-- Cross-region paths in one round trip per region, and personal data kept in its home region.
-- (The origin now sends a statement about a remote city straight to that city's node, see
-- origin/src/storage/nodes.rs; postgres_fdw stays for migrations, seeding and ad-hoc SQL.)

-- Log-in looks the email up in this region's users first and asks no other region when it is
-- found there. Created on each local partition (emails are stored normalised).
CREATE INDEX users_email ON users (email);

-- The regions other than a rider's home that hold rides of theirs, kept at the rider's home
-- (partitioned by the rider's home city): `/me/rides` asks only the home region and these.
-- A ride started elsewhere adds its region through the job queue (`rider_region` jobs).
CREATE TABLE rider_regions (
    -- The rider's home city (the partition key: the row lives on the rider's home node).
    city          text NOT NULL,
    rider_id      uuid NOT NULL,
    region        text NOT NULL,
    first_ride_at timestamptz NOT NULL DEFAULT now()
) PARTITION BY LIST (city);

-- Email claims hold a keyed hash of the normalised email (HMAC-SHA256, roam_shared::
-- email_claim), never the email: the node that holds a claim stores nothing personal. The
-- plaintext claims of earlier versions are set aside as `legacy_email_claims` (this node's own
-- partition renamed, its foreign partitions dropped) until `roam-origin reconcile-claims` has
-- hashed them into the new table, which then drops them.
ALTER TABLE email_claims RENAME TO legacy_email_claims;

DO $$
DECLARE
    part record;
    idx  record;
BEGIN
    FOR part IN
        SELECT c.oid, c.relname, c.relkind
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'legacy_email_claims'::regclass
    LOOP
        IF part.relkind = 'f' THEN
            EXECUTE format('DROP FOREIGN TABLE %I', part.relname);
        ELSE
            -- Its primary key's index name would clash with the new partition's.
            FOR idx IN SELECT c.relname FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
                       WHERE x.indrelid = part.oid
            LOOP
                EXECUTE format('ALTER INDEX %I RENAME TO %I', idx.relname, 'legacy_' || idx.relname);
            END LOOP;
            EXECUTE format('ALTER TABLE %I RENAME TO %I', part.relname, 'legacy_' || part.relname);
        END IF;
    END LOOP;
    IF NOT EXISTS (SELECT 1 FROM pg_inherits WHERE inhparent = 'legacy_email_claims'::regclass) THEN
        DROP TABLE legacy_email_claims;
    END IF;
END $$;

CREATE TABLE email_claims (
    -- The region whose node holds the claim: a pure function of email_hash.
    region          text NOT NULL,
    -- Lowercase hex HMAC-SHA256 of the normalised email under the key `key_id`.
    email_hash      text NOT NULL,
    key_id          text NOT NULL,
    -- The user it is claimed for, and where that user lives (how a log-in away from home
    -- finds the user).
    user_id         uuid NOT NULL,
    city            text NOT NULL,
    -- The sign-up's idempotency key, so a retried sign-up finds its own claim.
    idempotency_key text,
    created_at      timestamptz NOT NULL DEFAULT now()
) PARTITION BY LIST (region);
