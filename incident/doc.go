// Package incident is warroom's domain: incidents, their severity, stage,
// public status and roles, the timeline of everything said about them, and
// the Service that enforces the lifecycle rules.
//
// It must not import Slack, SQL, HTTP or any other adapter. Adapters depend on
// it, never the reverse: the store implements Store, the bot calls Service.
package incident
