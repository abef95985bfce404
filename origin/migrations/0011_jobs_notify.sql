-- Wakes a node's idle job workers as soon as a job is enqueued there, rather than at their next
-- poll (ROAM_JOBS_POLL_MS stays the fallback: a notification is lost if no worker is listening
-- at that moment, a row is not). NOTIFY is transactional, so the workers hear of a job only
-- once its transaction (the ride's end) has committed.
--
-- A row trigger on the parent is cloned to every partition. It fires on the home node's local
-- partition for inserts made there, including those postgres_fdw sends from another region's
-- origin; on that other origin's node it also fires for the foreign partition, where it does
-- nothing (the job is not that node's).
CREATE FUNCTION jobs_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT relkind FROM pg_class WHERE oid = TG_RELID) <> 'f' THEN
        PERFORM pg_notify('roam_jobs', '');
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER jobs_enqueued AFTER INSERT ON jobs FOR EACH ROW EXECUTE FUNCTION jobs_notify();
