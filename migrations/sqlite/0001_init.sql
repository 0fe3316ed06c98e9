-- Incidents. number is the N of INC-N; AUTOINCREMENT guarantees that a
-- number is never handed out twice, even after the newest row is gone.
CREATE TABLE incidents (
    number          INTEGER PRIMARY KEY AUTOINCREMENT,
    title           TEXT    NOT NULL,
    description     TEXT    NOT NULL DEFAULT '',
    severity        INTEGER NOT NULL CHECK (severity BETWEEN 1 AND 4),
    stage           TEXT    NOT NULL CHECK (stage IN ('assess','communicate','respond','document','closed')),
    status          TEXT    NOT NULL CHECK (status IN ('investigating','identified','monitoring','resolved')),
    declared_by     TEXT    NOT NULL,
    commander       TEXT    NOT NULL DEFAULT '',
    communicator    TEXT    NOT NULL DEFAULT '',
    channel_id      TEXT    NOT NULL DEFAULT '',
    channel_name    TEXT    NOT NULL DEFAULT '',
    summary_ts      TEXT    NOT NULL DEFAULT '',
    status_updates  INTEGER NOT NULL DEFAULT 0,
    -- Times are UTC, RFC 3339 with fixed microseconds, so text order is time order.
    declared_at     TEXT    NOT NULL,
    acknowledged_at TEXT,
    mitigated_at    TEXT,
    resolved_at     TEXT,
    closed_at       TEXT,
    updated_at      TEXT    NOT NULL
);

CREATE INDEX incidents_channel ON incidents (channel_id) WHERE channel_id <> '';
CREATE INDEX incidents_status ON incidents (status, number);

-- Roles other than commander and communicator (scribe, ops-lead, ...).
CREATE TABLE incident_roles (
    incident INTEGER NOT NULL REFERENCES incidents (number),
    role     TEXT    NOT NULL,
    user_id  TEXT    NOT NULL,
    PRIMARY KEY (incident, role)
);

-- The timeline of every incident, and the global audit log (incident IS NULL).
-- Entries are appended, never changed: the triggers below enforce it.
CREATE TABLE timeline (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    incident INTEGER REFERENCES incidents (number),
    at       TEXT NOT NULL,
    actor    TEXT NOT NULL,
    channel  TEXT NOT NULL DEFAULT '',
    raw      TEXT NOT NULL DEFAULT '',
    kind     TEXT NOT NULL,
    outcome  TEXT NOT NULL,
    detail   TEXT NOT NULL DEFAULT '{}'
);

CREATE INDEX timeline_incident ON timeline (incident, id);

CREATE TRIGGER timeline_append_only_update BEFORE UPDATE ON timeline
BEGIN
    SELECT RAISE(ABORT, 'timeline entries are never changed');
END;

CREATE TRIGGER timeline_append_only_delete BEFORE DELETE ON timeline
BEGIN
    SELECT RAISE(ABORT, 'timeline entries are never deleted');
END;
