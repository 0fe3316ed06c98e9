-- Messages of the conversation put into an incident's timeline (a pushpin
-- reaction, Slack's pin, the "Add to incident timeline" shortcut): how
-- each stands there, so that asking twice records it once, and an edit or
-- a deletion in Slack is recorded in every incident that holds it. The
-- message itself is in the timeline's entries; nothing here is deleted.
CREATE TABLE captures (
    incident INTEGER NOT NULL REFERENCES incidents(number),
    channel  TEXT NOT NULL,
    ts       TEXT NOT NULL,
    state    TEXT NOT NULL,
    PRIMARY KEY (incident, channel, ts)
);
CREATE INDEX captures_message ON captures (channel, ts);
