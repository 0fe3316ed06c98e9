package vendorsim

// The mocks' state can be saved and restored, so the sandbox's Jira issues
// and PagerDuty pages survive a restart as its incidents do.

// JiraState is what the fake Jira holds.
type JiraState struct {
	Issues []JiraIssue `json:"issues"`
}

// State returns what the fake holds, to save.
func (j *Jira) State() JiraState { return JiraState{Issues: j.Issues()} }

// Restore replaces what the fake holds with a saved state. Issue keys go
// on from the saved ones.
func (j *Jira) Restore(st JiraState) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.issues = nil
	for _, i := range st.Issues {
		c := i
		j.issues = append(j.issues, &c)
	}
}

// PagerDutyState is what the fake PagerDuty holds of warroom's doing: the
// incidents it opened and the events it sent (its users and schedules are
// set up by whoever starts it).
type PagerDutyState struct {
	Incidents []PDIncident `json:"incidents"`
	Events    []PDEvent    `json:"events"`
}

// State returns what the fake holds, to save.
func (p *PagerDuty) State() PagerDutyState {
	return PagerDutyState{Incidents: p.Incidents(), Events: p.Events()}
}

// Restore replaces the incidents and events with a saved state.
func (p *PagerDuty) Restore(st PagerDutyState) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.incidents = nil
	for _, i := range st.Incidents {
		c := i
		p.incidents = append(p.incidents, &c)
	}
	p.events = append([]PDEvent(nil), st.Events...)
}
