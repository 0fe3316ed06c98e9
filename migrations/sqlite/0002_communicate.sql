-- The communicate stage: affected components, public updates with their
-- exact text, when the next one is due, and which reminders have fired.

ALTER TABLE incidents ADD COLUMN impact TEXT NOT NULL DEFAULT '';
-- NULL when no public update is scheduled (SEV4, or resolved).
ALTER TABLE incidents ADD COLUMN next_update_due TEXT;

CREATE INDEX incidents_next_update_due ON incidents (next_update_due) WHERE next_update_due IS NOT NULL;

CREATE TABLE incident_components (
    incident INTEGER NOT NULL REFERENCES incidents (number),
    name     TEXT    NOT NULL,
    status   TEXT    NOT NULL CHECK (status IN ('operational','degraded_performance','partial_outage','major_outage')),
    PRIMARY KEY (incident, name)
);

CREATE TABLE public_updates (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    incident        INTEGER NOT NULL REFERENCES incidents (number),
    at              TEXT    NOT NULL,
    author          TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    next_update_due TEXT
);

CREATE INDEX public_updates_incident ON public_updates (incident, id);

-- One row per reminder fired, so a reminder fires once even across restarts.
-- 'help' is the call for everyone when a SEV1/SEV2 goes unacknowledged; its
-- due time is the declaration time.
CREATE TABLE reminders (
    incident INTEGER NOT NULL REFERENCES incidents (number),
    due      TEXT    NOT NULL,
    kind     TEXT    NOT NULL CHECK (kind IN ('remind','ping','escalate','help')),
    fired_at TEXT    NOT NULL,
    sent     INTEGER NOT NULL CHECK (sent IN (0, 1)),
    PRIMARY KEY (incident, due, kind)
);
