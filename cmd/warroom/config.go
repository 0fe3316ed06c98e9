package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/jira"
	"github.com/warroom/warroom/pagerduty"
	"github.com/warroom/warroom/postmortem"
	"github.com/warroom/warroom/report"
	"github.com/warroom/warroom/statuspage"
	"github.com/warroom/warroom/store"
	"github.com/warroom/warroom/templates"
)

// Config is every setting warroom reads. Each comes from a flag, or else
// from the environment variable of the same meaning, or else the default.
type Config struct {
	BotToken        string // SLACK_BOT_TOKEN: xoxb-...
	SigningSecret   string // SLACK_SIGNING_SECRET: verifies HTTP deliveries
	AppToken        string // SLACK_APP_TOKEN: xapp-..., turns on Socket Mode
	APIURL          string // SLACK_API_URL
	CAFile          string // SLACK_CA_FILE: extra CA certificates to trust for Slack
	DB              string // WARROOM_DB
	Addr            string // WARROOM_ADDR
	AnnounceChannel string // WARROOM_ANNOUNCE_CHANNEL
	LogLevel        string // WARROOM_LOG_LEVEL
	Templates       string // WARROOM_TEMPLATES: a directory overriding templates file by file
	Checklists      string // WARROOM_CHECKLISTS: a directory of checklist YAML files
	// configFile is WARROOM_CONFIG, whose checklists: section is read
	// apart from the settings.
	configFile     string
	TimeZone       string // WARROOM_TIMEZONE: for times in public updates
	Cadence        string // WARROOM_UPDATE_CADENCE: sev1=30m,sev2=60m,sev3=120m,sev4=0
	LintDisable    string // WARROOM_LINT_DISABLE: comms lint rules to turn off
	SweepEvery     string // WARROOM_SWEEP_EVERY: how often due reminders are looked for
	StatusAddr     string // WARROOM_STATUS_ADDR: the public status page's own listener
	StatusTitle    string // WARROOM_STATUS_TITLE
	StatusURL      string // WARROOM_STATUS_URL: where the public reaches the page
	StatusContact  string // WARROOM_STATUS_CONTACT
	StatusComps    string // WARROOM_STATUS_COMPONENTS: components always listed
	HelpAfter      string // WARROOM_HELP_AFTER: call everyone in for an unacknowledged SEV1/SEV2
	SPKey          string // STATUSPAGE_API_KEY: turns on publishing to Atlassian Statuspage
	SPPage         string // STATUSPAGE_PAGE_ID
	SPURL          string // STATUSPAGE_API_URL
	SPComponents   string // STATUSPAGE_COMPONENTS: name=componentID,...
	PDSecret       string // PAGERDUTY_WEBHOOK_SECRET: turns on /webhooks/pagerduty
	PDServices     string // PAGERDUTY_SERVICES: serviceID=sevN[:group],...
	PDWindow       string // PAGERDUTY_CORRELATION_WINDOW
	PDToken        string // PAGERDUTY_TOKEN: turns on paging and on-call commanders
	PDPolicy       string // PAGERDUTY_ESCALATION_POLICY
	PDSchedule     string // PAGERDUTY_SCHEDULE
	PDFrom         string // PAGERDUTY_FROM
	PDDefaultSvc   string // PAGERDUTY_DEFAULT_SERVICE
	PDAPIURL       string // PAGERDUTY_API_URL
	PDEventsURL    string // PAGERDUTY_EVENTS_URL
	JiraURL        string // JIRA_URL: turns on Jira issues
	JiraUser       string // JIRA_USER
	JiraToken      string // JIRA_TOKEN
	JiraProject    string // JIRA_PROJECT
	JiraIssueType  string // JIRA_ISSUE_TYPE
	JiraDone       string // JIRA_DONE_TRANSITION
	JiraReopen     string // JIRA_REOPEN_TRANSITION
	RetryFirst     string // WARROOM_RETRY_FIRST: the outbox's first retry delay
	RetryMax       string // WARROOM_RETRY_MAX: the longest delay between retries
	OnCallWait     string // PAGERDUTY_ONCALL_WAIT: how long to keep asking who is on call
	CallTimeout    string // WARROOM_CALL_TIMEOUT: how long one call to a vendor may take
	PMOnResolve    string // WARROOM_POSTMORTEM_ON_RESOLVE: write a draft at resolve
	ReportChannel  string // WARROOM_REPORT_CHANNEL: where the weekly report goes
	ReportSchedule string // WARROOM_REPORT_SCHEDULE: cron fields, in WARROOM_TIMEZONE
	JiraSyncEvery  string // JIRA_SYNC_EVERY: how often action items' Jira statuses are read
	MetricsToken   string // WARROOM_METRICS_TOKEN: bearer token /metrics requires
	Declarers      string // WARROOM_DECLARERS: Slack user IDs who alone may declare
	TimelineEmoji  string // WARROOM_TIMELINE_EMOJI: the reaction that puts a message into the timeline
	AdminAddr      string // WARROOM_ADMIN_ADDR: the internal listener (drafts, /metrics)
	AdminURL       string // WARROOM_ADMIN_URL: where the team reaches it (links)
	AdminHosts     string // WARROOM_ADMIN_HOSTS: more Host names it answers to
	AdminToken     string // WARROOM_ADMIN_TOKEN: bearer token it requires
	CloseAfter     string // WARROOM_CLOSE_AFTER: how long resolved before closing needs no confirmation
	DeclareLimit   string // WARROOM_DECLARE_LIMIT: declarations one person may make a minute
}

// setting documents one configuration value; the README's table is made from the same facts.
type setting struct {
	flag, env, def, usage string
	dst                   *string
	secret                bool
}

func (c *Config) settings() []setting {
	return []setting{
		{"bot-token", "SLACK_BOT_TOKEN", "", "Slack bot token (xoxb-...)", &c.BotToken, true},
		{"signing-secret", "SLACK_SIGNING_SECRET", "", "Slack signing secret; turns on the HTTP endpoints /slack/*", &c.SigningSecret, true},
		{"app-token", "SLACK_APP_TOKEN", "", "Slack app-level token (xapp-...); turns on Socket Mode", &c.AppToken, true},
		{"slack-api-url", "SLACK_API_URL", "https://slack.com/api/", "Slack Web API base URL", &c.APIURL, false},
		{"slack-ca-file", "SLACK_CA_FILE", "", "PEM file of extra CA certificates to trust for Slack (a proxy, or the simulator)", &c.CAFile, false},
		{"db", "WARROOM_DB", "warroom.db", "SQLite database file, or a postgres:// URL", &c.DB, false},
		{"addr", "WARROOM_ADDR", ":8080", "public listen address: /slack/*, /webhooks/pagerduty, /healthz", &c.Addr, false},
		{"admin-addr", "WARROOM_ADMIN_ADDR", "127.0.0.1:8082", "internal listen address: postmortem drafts and /metrics (\"off\" to not serve them)", &c.AdminAddr, false},
		{"admin-url", "WARROOM_ADMIN_URL", "", "where the team reaches the internal listener (links to drafts); default: http:// and WARROOM_ADMIN_ADDR", &c.AdminURL, false},
		{"admin-hosts", "WARROOM_ADMIN_HOSTS", "", "more Host names the internal listener answers to, comma-separated (a proxy's name)", &c.AdminHosts, false},
		{"admin-token", "WARROOM_ADMIN_TOKEN", "", "bearer token the internal listener requires; needed when it listens beyond loopback", &c.AdminToken, true},
		{"announce-channel", "WARROOM_ANNOUNCE_CHANNEL", "", "channel ID or name for declarations and resolutions", &c.AnnounceChannel, false},
		{"log-level", "WARROOM_LOG_LEVEL", "info", "debug, info, warn or error", &c.LogLevel, false},
		{"templates", "WARROOM_TEMPLATES", "", "directory of .tmpl files that override the built-in update templates", &c.Templates, false},
		{"checklists", "WARROOM_CHECKLISTS", "", "directory of YAML files of checklists, each shaped like the config file's checklists: section", &c.Checklists, false},
		{"timezone", "WARROOM_TIMEZONE", "UTC", "time zone for times in public updates (IANA name)", &c.TimeZone, false},
		{"update-cadence", "WARROOM_UPDATE_CADENCE", "sev1=30m,sev2=60m,sev3=120m,sev4=0", "how often each severity owes a public update (0: none)", &c.Cadence, false},
		{"lint-disable", "WARROOM_LINT_DISABLE", "", "comms lint rules to turn off: eta, speculation, blame, internal, next_update", &c.LintDisable, false},
		{"sweep-every", "WARROOM_SWEEP_EVERY", "30s", "how often due update reminders are looked for", &c.SweepEvery, false},
		{"help-after", "WARROOM_HELP_AFTER", "10m", "call everyone in when a SEV1 or SEV2 has nobody but its declarer for this long (0: never)", &c.HelpAfter, false},
		{"status-addr", "WARROOM_STATUS_ADDR", ":8081", "listen address of the public status page (\"off\" to not serve it)", &c.StatusAddr, false},
		{"status-title", "WARROOM_STATUS_TITLE", "Service status", "the status page's title", &c.StatusTitle, false},
		{"status-url", "WARROOM_STATUS_URL", "", "where the public reaches the status page (links, feed); default: http:// and WARROOM_STATUS_ADDR", &c.StatusURL, false},
		{"status-contact", "WARROOM_STATUS_CONTACT", "Questions? Contact our support team.", "how to get in touch, shown on the status page", &c.StatusContact, false},
		{"statuspage-api-key", "STATUSPAGE_API_KEY", "", "Atlassian Statuspage API key; with the page ID, publishes there too", &c.SPKey, true},
		{"statuspage-page-id", "STATUSPAGE_PAGE_ID", "", "Atlassian Statuspage page ID", &c.SPPage, false},
		{"statuspage-api-url", "STATUSPAGE_API_URL", "https://api.statuspage.io", "Atlassian Statuspage API base URL", &c.SPURL, false},
		{"statuspage-components", "STATUSPAGE_COMPONENTS", "", "name=componentID,... for components whose names differ on Statuspage", &c.SPComponents, false},
		{"pagerduty-webhook-secret", "PAGERDUTY_WEBHOOK_SECRET", "", "PagerDuty v3 webhook signing secret; turns on POST /webhooks/pagerduty", &c.PDSecret, true},
		{"pagerduty-services", "PAGERDUTY_SERVICES", "", "PagerDuty services: the config file's pagerduty.services list (as JSON here), or serviceID=sevN[:group],...", &c.PDServices, true},
		{"pagerduty-correlation-window", "PAGERDUTY_CORRELATION_WINDOW", "30m", "an alert joins an open incident of its service or group declared this recently", &c.PDWindow, false},
		{"status-components", "WARROOM_STATUS_COMPONENTS", "", "comma-separated components the status page always lists", &c.StatusComps, false},
		{"pagerduty-token", "PAGERDUTY_TOKEN", "", "PagerDuty REST API token; turns on paging and on-call commanders", &c.PDToken, true},
		{"pagerduty-escalation-policy", "PAGERDUTY_ESCALATION_POLICY", "", "escalation policy whose on-call person commands incidents by default", &c.PDPolicy, false},
		{"pagerduty-schedule", "PAGERDUTY_SCHEDULE", "", "on-call schedule to use instead, when no escalation policy is set", &c.PDSchedule, false},
		{"pagerduty-from", "PAGERDUTY_FROM", "", "email of the PagerDuty user warroom acts as (needed to page people and resolve their pages)", &c.PDFrom, false},
		{"pagerduty-default-service", "PAGERDUTY_DEFAULT_SERVICE", "", "PagerDuty service ID that pages to people are opened on", &c.PDDefaultSvc, false},
		{"pagerduty-api-url", "PAGERDUTY_API_URL", "https://api.pagerduty.com", "PagerDuty REST API base URL", &c.PDAPIURL, false},
		{"pagerduty-events-url", "PAGERDUTY_EVENTS_URL", "https://events.pagerduty.com", "PagerDuty Events API v2 base URL", &c.PDEventsURL, false},
		{"pagerduty-oncall-wait", "PAGERDUTY_ONCALL_WAIT", "2m", "how long to keep asking PagerDuty who is on call before the declarer simply stays commander", &c.OnCallWait, false},
		{"jira-url", "JIRA_URL", "", "Jira site, e.g. https://example.atlassian.net; turns on an issue per incident", &c.JiraURL, false},
		{"jira-user", "JIRA_USER", "", "Jira account email", &c.JiraUser, false},
		{"jira-token", "JIRA_TOKEN", "", "Jira API token", &c.JiraToken, true},
		{"jira-project", "JIRA_PROJECT", "", "Jira project key for incident issues, e.g. INC", &c.JiraProject, false},
		{"jira-issue-type", "JIRA_ISSUE_TYPE", "Task", "Jira issue type for incidents", &c.JiraIssueType, false},
		{"jira-done-transition", "JIRA_DONE_TRANSITION", "Done", "transition (or status) an issue takes when its incident resolves", &c.JiraDone, false},
		{"jira-reopen-transition", "JIRA_REOPEN_TRANSITION", "", "transition (or status) an issue takes when its incident reopens; empty: none", &c.JiraReopen, false},
		{"retry-first", "WARROOM_RETRY_FIRST", "1s", "first delay before a failed Slack, PagerDuty, Jira or Statuspage call is retried (doubles each time, with jitter)", &c.RetryFirst, false},
		{"call-timeout", "WARROOM_CALL_TIMEOUT", "20s", "how long one Slack, PagerDuty, Jira or Statuspage call from the outbox may take before it counts as failed", &c.CallTimeout, false},
		{"postmortem-on-resolve", "WARROOM_POSTMORTEM_ON_RESOLVE", "false", "write a postmortem draft and upload it to the war room when an incident resolves", &c.PMOnResolve, false},
		{"report-channel", "WARROOM_REPORT_CHANNEL", "", "channel ID or name for the weekly action-item report; empty: the announcements channel, or none", &c.ReportChannel, false},
		{"report-schedule", "WARROOM_REPORT_SCHEDULE", "0 9 * * 1", "when the weekly report is posted: cron fields (minute hour day month weekday) in WARROOM_TIMEZONE", &c.ReportSchedule, false},
		{"jira-sync-every", "JIRA_SYNC_EVERY", "5m", "how often action items' Jira issues are read back (done in Jira closes them here)", &c.JiraSyncEvery, false},
		{"close-after", "WARROOM_CLOSE_AFTER", "10m", "how long an incident stays resolved before closing (which archives the war room) needs no confirmation from the commander", &c.CloseAfter, false},
		{"declare-limit", "WARROOM_DECLARE_LIMIT", "10", "how many incidents one person may declare a minute (alerts are not limited; 0: no limit)", &c.DeclareLimit, false},
		{"timeline-emoji", "WARROOM_TIMELINE_EMOJI", "pushpin", "the reaction (without colons) that puts a message in a war room into the incident's timeline", &c.TimelineEmoji, false},
		{"declarers", "WARROOM_DECLARERS", "", "comma-separated Slack user IDs who alone may declare incidents; empty: anyone", &c.Declarers, false},
		{"metrics-token", "WARROOM_METRICS_TOKEN", "", "if set, GET /metrics requires it as a bearer token", &c.MetricsToken, true},
		{"retry-max", "WARROOM_RETRY_MAX", "5m", "longest delay between retries; a call is retried until it succeeds or is refused", &c.RetryMax, false},
	}
}

// newFlagSet returns a flag set for a subcommand whose defaults come from getenv.
func newFlagSet(name string, c *Config, getenv func(string) string, stderr io.Writer, only ...string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.configFile = strings.TrimSpace(getenv("WARROOM_CONFIG"))
	for _, s := range c.settings() {
		if len(only) > 0 && !slices.Contains(only, s.flag) {
			*s.dst = envOr(getenv, s.env, s.def)
			continue
		}
		def := envOr(getenv, s.env, s.def)
		// Usage text (--help, a mistyped flag) shows defaults: never a
		// secret, and never a password inside a URL (WARROOM_DB, JIRA_URL).
		shown := redactAny(def)
		if s.secret && def != "" {
			shown = "(set)"
		}
		fs.StringVar(s.dst, s.flag, def, fmt.Sprintf("%s [$%s]", s.usage, s.env))
		fs.Lookup(s.flag).DefValue = shown
	}
	return fs
}

func envOr(getenv func(string) string, key, def string) string {
	if v := strings.TrimSpace(getenv(key)); v != "" {
		return v
	}
	return def
}

// parseCadence reads "sev1=30m,sev2=60m,...": a severity not named keeps
// its default.
func parseCadence(s string) (incident.Cadence, error) {
	c := incident.Cadence{}
	for k, v := range incident.DefaultCadence {
		c[k] = v
	}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, val, ok := strings.Cut(part, "=")
		sev, err := incident.ParseSeverity(name)
		if !ok || err != nil {
			return nil, fmt.Errorf("WARROOM_UPDATE_CADENCE: %q is not sevN=duration (e.g. sev1=30m)", part)
		}
		d, err := time.ParseDuration(strings.TrimSpace(val))
		if val == "0" {
			d, err = 0, nil
		}
		if err != nil || d < 0 {
			return nil, fmt.Errorf("WARROOM_UPDATE_CADENCE: %q: the duration must look like 30m or 2h, or 0 for none", part)
		}
		c[sev] = d
	}
	return c, nil
}

// parseLintDisable reads "eta,speculation" into the lint's Disabled set.
func parseLintDisable(s string) (map[string]bool, error) {
	out := map[string]bool{}
	known := map[string]bool{incident.LintETA: true, incident.LintSpeculation: true, incident.LintBlame: true, incident.LintInternal: true, incident.LintNextUpdate: true}
	for _, r := range strings.Split(s, ",") {
		r = strings.TrimSpace(r)
		if r == "" {
			continue
		}
		if !known[r] {
			return nil, fmt.Errorf("WARROOM_LINT_DISABLE: no lint rule %q (there is eta, speculation, blame, internal, next_update)", r)
		}
		out[r] = true
	}
	return out, nil
}

// statusPage builds the public status page from the settings.
func (c *Config) statusPage(src statuspage.Source, loc *time.Location) *statuspage.Page {
	var comps []string
	for _, name := range strings.Split(c.StatusComps, ",") {
		if name = strings.TrimSpace(name); name != "" {
			comps = append(comps, name)
		}
	}
	return statuspage.New(src, statuspage.Config{Title: c.StatusTitle, URL: c.statusURL(), Contact: c.StatusContact, Components: comps, Location: loc})
}

// atlassian returns the Statuspage publisher, or nil when not configured.
func (c *Config) atlassian(refs statuspage.Refs, log *slog.Logger) (*statuspage.Atlassian, error) {
	if c.SPKey == "" && c.SPPage == "" {
		return nil, nil
	}
	if c.SPKey == "" || c.SPPage == "" {
		return nil, fmt.Errorf("to publish to Atlassian Statuspage set both STATUSPAGE_API_KEY and STATUSPAGE_PAGE_ID")
	}
	comps := map[string]string{}
	for _, pair := range strings.Split(c.SPComponents, ",") {
		if pair = strings.TrimSpace(pair); pair == "" {
			continue
		}
		name, id, ok := strings.Cut(pair, "=")
		if !ok || name == "" || id == "" {
			return nil, fmt.Errorf("STATUSPAGE_COMPONENTS: %q is not name=componentID", pair)
		}
		comps[strings.TrimSpace(name)] = strings.TrimSpace(id)
	}
	return statuspage.NewAtlassian(statuspage.AtlassianConfig{BaseURL: c.SPURL, PageID: c.SPPage, APIKey: c.SPKey, Components: comps, Log: log}, refs), nil
}

// services reads PAGERDUTY_SERVICES: a JSON list (what the config file's
// pagerduty.services becomes) or the short form serviceID=sevN[:group],...
func (c *Config) services() ([]pagerduty.Service, error) {
	raw := strings.TrimSpace(c.PDServices)
	var list []pagerduty.Service
	if strings.HasPrefix(raw, "[") {
		if err := json.Unmarshal([]byte(raw), &list); err != nil {
			return nil, fmt.Errorf("pagerduty.services: %v", err)
		}
	} else {
		for _, part := range strings.Split(raw, ",") {
			if part = strings.TrimSpace(part); part == "" {
				continue
			}
			id, spec, ok := strings.Cut(part, "=")
			sevText, group, _ := strings.Cut(spec, ":")
			if !ok || strings.TrimSpace(id) == "" {
				return nil, fmt.Errorf("PAGERDUTY_SERVICES: %q is not serviceID=sevN[:group], e.g. PF9KMXH=sev1:payments", part)
			}
			list = append(list, pagerduty.Service{ID: strings.TrimSpace(id), Severity: strings.TrimSpace(sevText), Group: strings.TrimSpace(group)})
		}
	}
	names := map[string]bool{}
	for i, s := range list {
		if s.ID == "" {
			return nil, fmt.Errorf("pagerduty.services[%d] (%s): id is required, PagerDuty's service ID such as PF9KMXH", i, s.Name)
		}
		if _, err := incident.ParseSeverity(s.Severity); err != nil {
			return nil, fmt.Errorf("pagerduty.services[%d] (%s): severity %q is not sev1..sev4", i, firstNonEmpty(s.Name, s.ID), s.Severity)
		}
		if s.Runbook != "" && !webURL(s.Runbook) {
			return nil, fmt.Errorf("pagerduty.services[%d] (%s): runbook %q is not an http(s) URL", i, firstNonEmpty(s.Name, s.ID), s.Runbook)
		}
		for j, ct := range s.Contacts {
			if ct.Name == "" || (ct.URL != "" && !webURL(ct.URL)) {
				return nil, fmt.Errorf("pagerduty.services[%d] (%s): contacts[%d] needs a name, and its url must be http(s), e.g. {name: Card processor support, phone: \"+44 20 7946 0000\", url: https://status.processor.example}", i, firstNonEmpty(s.Name, s.ID), j)
			}
		}
		for j, d := range s.Dashboards {
			if d.Name == "" || !webURL(d.URL) {
				return nil, fmt.Errorf("pagerduty.services[%d] (%s): dashboards[%d] needs a name and an http(s) url, e.g. {name: Payments overview, url: https://grafana.example.com/d/payments}", i, firstNonEmpty(s.Name, s.ID), j)
			}
		}
		if s.Name != "" {
			key := strings.ToLower(s.Name)
			if names[key] {
				return nil, fmt.Errorf("pagerduty.services: the name %q is used twice", s.Name)
			}
			if strings.ContainsAny(s.Name, " :,") {
				return nil, fmt.Errorf("pagerduty.services[%d]: the name %q must be one word without ':' or ',' (people type it)", i, s.Name)
			}
			names[key] = true
		}
	}
	return list, nil
}

// correlation turns the services and the window into the alert rules.
func (c *Config) correlation(services []pagerduty.Service) (incident.Correlation, error) {
	window, err := time.ParseDuration(c.PDWindow)
	if err != nil || window <= 0 {
		return incident.Correlation{}, fmt.Errorf("PAGERDUTY_CORRELATION_WINDOW: %q is not a duration such as 30m", c.PDWindow)
	}
	rules := map[string]incident.AlertRule{}
	for _, s := range services {
		sev, _ := incident.ParseSeverity(s.Severity)
		rules[s.ID] = incident.AlertRule{Name: s.Name, Severity: sev, Group: s.Group}
	}
	return incident.Correlation{Rules: rules, Window: window}, nil
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// pagerDuty returns the PagerDuty client, or nil when no token is set.
func (c *Config) pagerDuty() *pagerduty.Client {
	if c.PDToken == "" {
		return nil
	}
	return pagerduty.New(pagerduty.Config{Token: c.PDToken, APIURL: c.PDAPIURL, EventsURL: c.PDEventsURL, From: c.PDFrom,
		Policy: c.PDPolicy, Schedule: c.PDSchedule, DefaultService: c.PDDefaultSvc})
}

// jira returns the Jira client, or nil when JIRA_URL is not set.
func (c *Config) jira() (*jira.Client, error) {
	if c.JiraURL == "" {
		return nil, nil
	}
	user, token := c.JiraUser, c.JiraToken
	if u, err := url.Parse(c.JiraURL); err == nil && u.User != nil { // https://user:token@site works too
		user = firstNonEmpty(user, u.User.Username())
		if p, ok := u.User.Password(); ok {
			token = firstNonEmpty(token, p)
		}
	}
	var missing []string
	for _, m := range []struct{ v, name string }{{user, "JIRA_USER"}, {token, "JIRA_TOKEN"}, {c.JiraProject, "JIRA_PROJECT"}} {
		if m.v == "" {
			missing = append(missing, m.name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("JIRA_URL is set, so Jira also needs %s", strings.Join(missing, ", "))
	}
	if u, err := url.Parse(c.JiraURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("JIRA_URL: %q is not a URL such as https://example.atlassian.net", redactURL(c.JiraURL))
	}
	return jira.New(jira.Config{URL: c.JiraURL, User: c.JiraUser, Token: c.JiraToken, Project: c.JiraProject,
		IssueType: c.JiraIssueType, DoneTransition: c.JiraDone, ReopenTransition: c.JiraReopen})
}

// checked is the configuration, parsed and validated.
type checked struct {
	templates   *templates.Set
	loc         *time.Location
	cadence     incident.Cadence
	lintOff     map[string]bool
	helpAfter   time.Duration
	sweepEvery  time.Duration
	correlation incident.Correlation
	services    []pagerduty.Service
	checklists  incident.Checklists
	retryFirst  time.Duration
	retryMax    time.Duration
	onCallWait  time.Duration
	callTimeout time.Duration
	postmortems *postmortem.Writer
	pmOnResolve bool
	pd          *pagerduty.Client
	jira        *jira.Client
	weekly      *report.Weekly
	jiraSync    time.Duration
	closeAfter  time.Duration
	declareMax  int
}

// emojiName is a Slack emoji's name, without its colons.
var emojiName = regexp.MustCompile(`^[a-z0-9_+'-]{1,64}$`)

// check parses every setting that can be wrong and returns all the problems,
// each naming the setting and what a good value looks like.
func (c *Config) check() (checked, []error) {
	var s checked
	var problems []error
	var err error
	if s.templates, err = templates.Load(c.Templates); err != nil {
		problems = append(problems, err)
	}
	if s.templates != nil {
		if s.postmortems, err = postmortem.NewWriter(s.templates); err != nil {
			problems = append(problems, err)
		}
	}
	if s.pmOnResolve, err = strconv.ParseBool(c.PMOnResolve); err != nil {
		problems = append(problems, fmt.Errorf("WARROOM_POSTMORTEM_ON_RESOLVE: %q is not true or false", c.PMOnResolve))
	}
	if s.loc, err = time.LoadLocation(c.TimeZone); err != nil {
		problems = append(problems, fmt.Errorf("WARROOM_TIMEZONE: %w", err))
	}
	if s.cadence, err = parseCadence(c.Cadence); err != nil {
		problems = append(problems, err)
	}
	if s.lintOff, err = parseLintDisable(c.LintDisable); err != nil {
		problems = append(problems, err)
	}
	s.helpAfter, err = time.ParseDuration(c.HelpAfter)
	if c.HelpAfter == "0" {
		s.helpAfter, err = 0, nil
	}
	if err != nil || s.helpAfter < 0 {
		problems = append(problems, fmt.Errorf("WARROOM_HELP_AFTER: %q is not a duration (e.g. 10m, or 0 for never)", c.HelpAfter))
	}
	if s.loc != nil {
		if s.weekly, err = report.NewWeekly(c.ReportSchedule, s.loc); err != nil {
			problems = append(problems, fmt.Errorf("WARROOM_REPORT_SCHEDULE: %w", err))
		}
	}
	if s.jiraSync, err = time.ParseDuration(c.JiraSyncEvery); err != nil || s.jiraSync < time.Second {
		problems = append(problems, fmt.Errorf("JIRA_SYNC_EVERY: %q is not a duration of at least 1s (e.g. 5m)", c.JiraSyncEvery))
	}
	if s.sweepEvery, err = time.ParseDuration(c.SweepEvery); err != nil || s.sweepEvery < 100*time.Millisecond {
		problems = append(problems, fmt.Errorf("WARROOM_SWEEP_EVERY: %q is not a duration of at least 100ms (e.g. 30s)", c.SweepEvery))
	}
	if s.services, err = c.services(); err != nil {
		problems = append(problems, err)
	}
	if s.correlation, err = c.correlation(s.services); err != nil {
		problems = append(problems, err)
	}
	if s.checklists, err = loadChecklists(c.configFile, c.Checklists, s.services); err != nil {
		problems = append(problems, err)
	}
	s.pd = c.pagerDuty()
	for _, d := range []struct {
		dst       *time.Duration
		val, name string
		lo        time.Duration
	}{{&s.retryFirst, c.RetryFirst, "WARROOM_RETRY_FIRST", 10 * time.Millisecond}, {&s.retryMax, c.RetryMax, "WARROOM_RETRY_MAX", 10 * time.Millisecond},
		{&s.onCallWait, c.OnCallWait, "PAGERDUTY_ONCALL_WAIT", time.Second}, {&s.callTimeout, c.CallTimeout, "WARROOM_CALL_TIMEOUT", 100 * time.Millisecond}} {
		if *d.dst, err = time.ParseDuration(d.val); err != nil || *d.dst < d.lo {
			problems = append(problems, fmt.Errorf("%s: %q is not a duration of at least %v (e.g. 30s)", d.name, d.val, d.lo))
		}
	}
	if s.jira, err = c.jira(); err != nil {
		problems = append(problems, err)
	}
	if s.closeAfter, err = time.ParseDuration(c.CloseAfter); (err != nil && c.CloseAfter != "0") || s.closeAfter < 0 {
		problems = append(problems, fmt.Errorf("WARROOM_CLOSE_AFTER: %q is not a duration (e.g. 10m, or 0 to close at once)", c.CloseAfter))
	}
	if s.declareMax, err = strconv.Atoi(c.DeclareLimit); err != nil || s.declareMax < 0 {
		problems = append(problems, fmt.Errorf("WARROOM_DECLARE_LIMIT: %q is not a number of declarations a minute (e.g. 10, or 0 for no limit)", c.DeclareLimit))
	}
	if e := strings.Trim(c.TimelineEmoji, ":"); !emojiName.MatchString(e) || e == "white_check_mark" {
		problems = append(problems, fmt.Errorf("WARROOM_TIMELINE_EMOJI: %q is not an emoji's name warroom can use (letters, digits, _ + -, e.g. pushpin; not white_check_mark, which warroom answers with)", c.TimelineEmoji))
	}
	if err := c.checkAdmin(); err != nil {
		problems = append(problems, err)
	}
	if (c.SPKey == "") != (c.SPPage == "") {
		problems = append(problems, fmt.Errorf("to publish to Atlassian Statuspage set both STATUSPAGE_API_KEY and STATUSPAGE_PAGE_ID"))
	}
	return s, problems
}

// redactURL is a URL as it may be shown or logged: credentials written into
// it (https://user:token@host) become REDACTED.
// redactAny hides a URL's password: a PostgreSQL URL's (multi-host ones
// too) or any other's.
func redactAny(s string) string {
	if store.IsPostgres(s) {
		return store.Redact(s)
	}
	return redactURL(s)
}

func redactURL(s string) string {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.User == nil {
		return s
	}
	u.User = url.User("REDACTED")
	return u.String()
}

// adminURL is WARROOM_ADMIN_URL, or else the internal listener's address:
// links follow the port it really listens on.
func (c Config) adminURL() string {
	if c.AdminURL != "" {
		return c.AdminURL
	}
	return listenURL(c.AdminAddr)
}

// statusURL is WARROOM_STATUS_URL, or else the status page's address.
func (c Config) statusURL() string {
	if c.StatusURL != "" {
		return c.StatusURL
	}
	return listenURL(c.StatusAddr)
}

// listenURL is the http:// address of a listen address on this machine:
// "localhost" where it listens on all addresses.
func listenURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// webURL reports whether s is an absolute http(s) URL: what a link in a
// page or a message may be.
func webURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}
