-- Display names of the people warroom has met in Slack, so documents and
-- the command line (the postmortem, the weekly report, incidents list) show
-- names where people read them, without asking Slack.
CREATE TABLE people (
    user_id    TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
