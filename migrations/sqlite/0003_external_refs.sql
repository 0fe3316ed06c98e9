-- What an incident is called in other systems: its Atlassian Statuspage
-- incident, and later its PagerDuty incidents and Jira issue.
CREATE TABLE external_refs (
    incident INTEGER NOT NULL REFERENCES incidents (number),
    system   TEXT    NOT NULL,
    ref      TEXT    NOT NULL,
    PRIMARY KEY (incident, system)
);
