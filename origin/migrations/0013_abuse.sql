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
