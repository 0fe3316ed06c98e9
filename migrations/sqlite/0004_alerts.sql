-- Alerts from monitoring (PagerDuty webhooks), each attached to the incident
-- it opened or was grouped into, and the webhook deliveries already handled.

CREATE TABLE alerts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident    INTEGER NOT NULL REFERENCES incidents (number),
    source      TEXT    NOT NULL,              -- pagerduty
    external_id TEXT    NOT NULL,              -- the source's incident or alert id
    service     TEXT    NOT NULL,
    service_name TEXT   NOT NULL DEFAULT '',
    group_key   TEXT    NOT NULL,              -- the service, or its configured group
    title       TEXT    NOT NULL,
    url         TEXT    NOT NULL DEFAULT '',
    status      TEXT    NOT NULL,              -- triggered, acknowledged, resolved
    at          TEXT    NOT NULL,
    UNIQUE (source, external_id)
);

CREATE INDEX alerts_group ON alerts (group_key, at);
CREATE INDEX alerts_incident ON alerts (incident, id);

CREATE TABLE webhook_events (
    source      TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (source, event_id)
);
