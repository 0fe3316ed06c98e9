-- Private incidents: a private war room, off the announcements channel and
-- the status page, visible only to their members.
ALTER TABLE incidents ADD COLUMN private INTEGER NOT NULL DEFAULT 0 CHECK (private IN (0, 1));

-- Who may see and act on a private incident from outside its war room:
-- the declarer, everyone given a role, action item owners.
CREATE TABLE incident_members (
    incident INTEGER NOT NULL REFERENCES incidents (number),
    user_id  TEXT    NOT NULL,
    PRIMARY KEY (incident, user_id)
);
