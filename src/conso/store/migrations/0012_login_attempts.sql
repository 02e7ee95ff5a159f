-- Login throttling lives in the store, so that every API node shares it and a restart
-- keeps it (auth.py says the rules). `login_attempts`: the attempts of one subject (a
-- login name, or a client address) in its current window, counted and compared by one
-- UPSERT; rows whose window ended are pruned. `login_clients`: the addresses each login
-- last succeeded from, let through a lock-out of that login; pruned after 30 days.
CREATE TABLE login_attempts (
    scope         TEXT NOT NULL,
    subject       TEXT NOT NULL,
    window_start  TEXT NOT NULL,
    attempts      INTEGER NOT NULL,
    PRIMARY KEY (scope, subject)
);
CREATE INDEX login_attempts_window ON login_attempts (window_start);

CREATE TABLE login_clients (
    login         TEXT NOT NULL,
    client        TEXT NOT NULL,
    last_success  TEXT NOT NULL,
    PRIMARY KEY (login, client)
);
CREATE INDEX login_clients_age ON login_clients (last_success);
