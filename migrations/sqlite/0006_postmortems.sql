-- Postmortem drafts: each generation is a new version; earlier versions
-- (and whatever people did with them) are kept.
CREATE TABLE postmortems (
    incident   INTEGER NOT NULL REFERENCES incidents (number),
    version    INTEGER NOT NULL,
    markdown   TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    created_by TEXT    NOT NULL,
    PRIMARY KEY (incident, version)
);
