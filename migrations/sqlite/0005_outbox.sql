-- The outbox: work outside warroom (Slack posts, Jira, PagerDuty,
-- Statuspage) written in the same transaction as the timeline entry that
-- caused it, and delivered afterwards by a worker that retries.

CREATE TABLE outbox (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    incident   INTEGER NOT NULL REFERENCES incidents (number),
    kind       TEXT    NOT NULL,                 -- slack.post, ticket.sync, ...
    lane       TEXT    NOT NULL,                 -- <system>/INC-n: delivered in id order
    payload    TEXT    NOT NULL DEFAULT '{}',    -- JSON object of strings
    entry      INTEGER,                          -- the timeline entry that caused it
    created_at TEXT    NOT NULL,
    not_after  TEXT,
    state      TEXT    NOT NULL DEFAULT 'pending'
               CHECK (state IN ('pending', 'done', 'failed', 'expired')),
    attempts   INTEGER NOT NULL DEFAULT 0,
    next_at    TEXT    NOT NULL,
    last_error TEXT    NOT NULL DEFAULT '',
    done_at    TEXT
);

CREATE INDEX outbox_pending ON outbox (lane, id) WHERE state = 'pending';
CREATE INDEX outbox_incident ON outbox (incident, id);

-- A link's address, shown in the war room (the Jira issue's URL).
ALTER TABLE external_refs ADD COLUMN url TEXT NOT NULL DEFAULT '';

-- The affected service, when the declarer or the alert named one.
ALTER TABLE incidents ADD COLUMN service TEXT NOT NULL DEFAULT '';
