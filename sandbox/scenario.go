package sandbox

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/slacksim"
)

// Scenario is a rehearsal: teammates, channels, and a script of messages
// (alerts, customer reports) that arrive while the team runs the incident.
type Scenario struct {
	Name        string
	Summary     string
	Teammates   []string // who takes part; the first is on call (in the brief and in the mock PagerDuty)
	Integration string   // the alerting system that posts
	Channels    []string
	Components  []string // listed on the status page
	Brief       string   // pinned in #general at the start
	Script      []Step
	// Checklists is the team's checklists for the rehearsal, as a
	// WARROOM_CHECKLISTS file (the config file's checklists: section).
	Checklists string
	// Service is the card of the service the rehearsal is about (its
	// alerts declare Severity).
	Service  incident.ServiceCard
	Severity string
}

// Step is one scripted message.
type Step struct {
	After   time.Duration
	Channel string
	From    string // a teammate or the integration
	Text    string
}

// Scenarios lists the rehearsals that ship with warroom, by name.
var Scenarios = map[string]Scenario{
	"db-outage": {
		Name:        "db-outage",
		Summary:     "SEV1: the primary database stops accepting connections; checkout, payments and login fail.",
		Teammates:   []string{"alice", "bob", "carol"},
		Integration: "alertmanager",
		Channels:    []string{"alerts"},
		Components:  []string{"Checkout", "Payments", "Login", "API"},
		Brief: ":rotating_light: *Rehearsal: SEV1 database outage.* @alice is on call, @bob leads the database team, @carol leads support.\n" +
			"Play it in order, switching teammates with the picker:\n" +
			"1. alice, in #alerts: `/incident declare sev1 db: Primary database down` (the war room gets the SEV1 checklist and the db service's card; tick steps as you go)\n" +
			"2. bob, in the war room: `/incident commander me`\n" +
			"3. alice: `/incident communicator @carol`\n" +
			"4. carol: `/incident components checkout=major_outage payments=major_outage login=major_outage`, then `/incident update investigating` and publish\n" +
			"5. bob: `/incident status identified db-main-1 ran out of disk; failing over to db-main-2`; carol: `/incident update identified` and publish\n" +
			"6. bob: `/incident status monitoring Failover done; error rates back to normal`; carol publishes again\n" +
			"7. bob: `/incident resolve Failover complete`; carol: press *Write the resolved update* in the war room and publish (the apology template)\n" +
			"8. read `/incident timeline`, the postmortem draft in the war room (its \"What we did, and when\" is the checklist), and the status page",
		Service: incident.ServiceCard{Name: "db", Runbook: "https://wiki.example.com/runbooks/postgres-primary",
			Dashboards: []incident.NamedLink{{Name: "Postgres overview", URL: "https://grafana.example.com/d/postgres"}, {Name: "Disk usage", URL: "https://grafana.example.com/d/disk"}},
			Owners:     []string{"@bob"},
			Contacts:   []incident.Contact{{Name: "Cloud provider support", Phone: "+1 555 0100", URL: "https://status.cloud.example"}},
			Channel:    "#db-team"},
		Severity: "sev1",
		Checklists: `default:
  - {stage: assess, text: Confirm the impact from a second source (dashboards or support tickets)}
  - {stage: assess, text: Name the commander, done_when: commander_named}
  - {stage: communicate, text: Name a communicator, done_when: communicator_named}
  - {stage: communicate, text: Publish the first public update, done_when: first_public_update}
  - {stage: respond, text: Say what the cause is, done_when: identified}
  - {stage: document, text: Write the postmortem draft, done_when: postmortem_written}
sev1:
  - {stage: respond, text: Page the owning team, done_when: page_sent, owner: commander}
  - {stage: communicate, text: Tell support what customers should hear, owner: communicator}
  - {stage: document, text: File the follow-ups as action items, done_when: action_item_added}
db:
  - {stage: respond, text: Check replication lag before failing over, link: "https://wiki.example.com/runbooks/postgres-failover"}
  - {stage: respond, text: Free disk space or fail over to the replica}
`,
		Script: []Step{
			{0, "alerts", "alertmanager", ":red_circle: *[FIRING:1] PostgresPrimaryDown* — db-main-1 is not accepting connections. Affected: checkout, payments, login."},
			{20 * time.Second, "general", "carol", "Support here: customers report they can't log in or pay. 40 tickets in 5 minutes."},
			{60 * time.Second, "alerts", "alertmanager", ":red_circle: *[FIRING:2] CheckoutErrorRate* — checkout-api 5xx at 38% (threshold 2%)."},
			{120 * time.Second, "alerts", "alertmanager", ":red_circle: *[FIRING:3] DiskFull* — db-main-1 /var/lib/postgresql 100% used."},
		},
	},
}

// ScenarioNames lists the shipped scenarios, for help text.
func ScenarioNames() string {
	var names []string
	for n := range Scenarios {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// Setup adds the scenario's people and channels and pins its brief.
func (sc Scenario) Setup(sim *slacksim.Server) error {
	for _, name := range sc.Teammates {
		sim.AddUser(name)
	}
	sim.AddBotUser(sc.Integration)
	if sc.Service.Channel != "" {
		sim.AddChannel(strings.TrimPrefix(sc.Service.Channel, "#"), false)
	}
	for _, ch := range sc.Channels {
		sim.AddChannel(ch, false)
	}
	general, _ := sim.ChannelByNameID("general")
	m, err := sim.PostAs(sim.AddBotUser("rehearsal"), general, sc.Brief)
	if err != nil {
		return err
	}
	sim.Pin(general, m.TS)
	return nil
}

// Play posts the script's messages at their times, until ctx ends.
func (sc Scenario) Play(ctx context.Context, sim *slacksim.Server) error {
	start := time.Now()
	for _, st := range sc.Script {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Until(start.Add(st.After))):
		}
		ch, ok := sim.ChannelByNameID(st.Channel)
		if !ok {
			return fmt.Errorf("scenario %s: no channel #%s", sc.Name, st.Channel)
		}
		if _, err := sim.PostAs(sim.AddUser(st.From), ch, st.Text); err != nil {
			return err
		}
	}
	return nil
}
