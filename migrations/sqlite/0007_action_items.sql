-- Action items: follow-ups agreed after an incident, tracked to closure.
CREATE TABLE action_items (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    incident      INTEGER NOT NULL REFERENCES incidents (number),
    text          TEXT    NOT NULL,
    owner         TEXT    NOT NULL DEFAULT '',
    priority      INTEGER NOT NULL CHECK (priority BETWEEN 1 AND 3),
    due           TEXT    NOT NULL DEFAULT '',   -- YYYY-MM-DD, '' for none
    status        TEXT    NOT NULL CHECK (status IN ('open', 'done')),
    created_at    TEXT    NOT NULL,
    created_by    TEXT    NOT NULL,
    closed_at     TEXT,
    closed_by     TEXT    NOT NULL DEFAULT '',
    updated_at    TEXT    NOT NULL,
    ticket        TEXT    NOT NULL DEFAULT '',   -- the Jira issue, PROJ-12
    ticket_url    TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX action_items_incident ON action_items (incident, id);
CREATE INDEX action_items_open ON action_items (status, due);
CREATE INDEX action_items_closed ON action_items (closed_at) WHERE closed_at IS NOT NULL;
CREATE INDEX action_items_ticket ON action_items (ticket) WHERE ticket <> '';

-- Scheduled jobs that must run once per slot across restarts and several
-- running copies: the weekly report. The row is the claim.
CREATE TABLE scheduled_runs (
    job        TEXT NOT NULL,     -- weekly-report
    slot       TEXT NOT NULL,     -- the scheduled time it is for, UTC
    ran_at     TEXT NOT NULL,
    PRIMARY KEY (job, slot)
);

-- The outbox gains effects that belong to no incident (the weekly report's
-- post): incident becomes nullable. SQLite cannot relax a column, so the
-- table is rebuilt with its rows and ids.
CREATE TABLE outbox_new (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    incident   INTEGER REFERENCES incidents (number),
    kind       TEXT    NOT NULL,
    lane       TEXT    NOT NULL,
    payload    TEXT    NOT NULL DEFAULT '{}',
    entry      INTEGER,
    created_at TEXT    NOT NULL,
    not_after  TEXT,
    state      TEXT    NOT NULL DEFAULT 'pending'
               CHECK (state IN ('pending', 'done', 'failed', 'expired')),
    attempts   INTEGER NOT NULL DEFAULT 0,
    next_at    TEXT    NOT NULL,
    last_error TEXT    NOT NULL DEFAULT '',
    done_at    TEXT
);
INSERT INTO outbox_new SELECT id, incident, kind, lane, payload, entry, created_at, not_after, state, attempts, next_at, last_error, done_at FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_pending ON outbox (lane, id) WHERE state = 'pending';
CREATE INDEX outbox_incident ON outbox (incident, id);

-- The weekly report and the metrics read incidents by declaration time.
CREATE INDEX incidents_declared ON incidents (declared_at);
