package incident

// ServiceCard is what a team keeps about one of its services for whoever
// responds to it: where the runbook is, which dashboards to open, who owns
// it, and whom to call outside Slack (issue 17's service catalogue).
type ServiceCard struct {
	Name       string
	Runbook    string
	Dashboards []NamedLink
	Owners     []string // Slack mentions or user groups, as the config writes them
	Contacts   []Contact
	// Channel is the team's own channel, told when the service has a
	// (public) incident: "#payments" or a channel ID.
	Channel string
}

// NamedLink is a link with a name: a dashboard, a saved query.
type NamedLink struct{ Name, URL string }

// Contact is someone to reach outside Slack: a vendor's support, a person.
type Contact struct{ Name, Phone, URL string }
