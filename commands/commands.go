// Package commands turns the text of "/incident ..." into typed commands
// and runs each against incident.Service.
//
// One command, one place: each stage's file (assess.go, communicate.go,
// respond.go, document.go, actions.go) holds its commands whole, as a spec
// with the usage line and help, the parser of the rest of the line, the
// handler, and the texts it answers with. The rules themselves live in
// incident/, in the file of the same stage. This file holds what every
// command shares: the table of specs, Dispatcher.Run, and the plumbing from
// a rule's result to a reply and the Slack effects.
//
// It knows nothing of Slack's transports or HTTP; bot/ calls Dispatcher.Run
// and carries out the Result. It must not import bot/ or any store.
package commands

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/internal/mrkdwn"
	"github.com/warroom/warroom/postmortem"
	"github.com/warroom/warroom/templates"
)

// Command is one parsed "/incident ..." command.
type Command struct {
	Name     string            // the subcommand: declare, note, status, ...
	Ref      int64             // incident named before the subcommand, 0 if none
	Severity incident.Severity // declare, severity
	Status   incident.Status   // status
	Role     string            // commander, communicator, role
	User     string            // the Slack user ID a role goes to
	// UserName is a person named without Slack's @ list ("bob"): the
	// dispatcher finds their ID before the command runs.
	UserName string
	Text     string // title, note, message, summary, help topic
	Target   string // page: a service name, or "@U123"
	Modal    bool   // declare with no title: open the form
	Private  bool   // declare private: a private war room, off announcements and the status page
	// Components are name=status pairs, for components.
	Components map[string]incident.ComponentStatus
	// Action is the action subcommand (add, list, done, reopen, assign),
	// ActionID the item it names, Priority and Due what add was given.
	Action   string
	ActionID int64
	Priority incident.Priority
	Due      time.Time
	// Before is the timeline entry to page back from (timeline before 120).
	Before int64
}

// Invocation is one "/incident ..." typed by a user somewhere.
type Invocation struct {
	User    string // Slack user ID
	Channel string // where it was typed
	Text    string // everything after "/incident"
	// ResponseURL answers the command later (the war room is ready).
	ResponseURL string
}

// Result is what the person who ran a command sees. Everything else a
// command does on Slack was planned into the outbox with its timeline entry.
type Result struct {
	Reply    string             // ephemeral reply to the user
	Incident *incident.Incident // the incident acted on, as it now is
	Modal    *DeclareForm       // open the declare form instead
	Preview  *UpdatePreview     // open the public update preview instead
	// Confirm, with the reply, offers a button that does the refused
	// command anyway, for what cannot be undone (closing early).
	Confirm *Confirm
	Failed  bool // the command was rejected or could not run
}

// Confirm is a button that confirms a command the reply refused until
// someone says they mean it.
type Confirm struct {
	Label    string // on the button: "Close and archive now"
	Action   string // what it does: "close"
	Incident int64
}

// Dispatcher runs commands against the incident service.
type Dispatcher struct {
	Service *incident.Service
	Log     *slog.Logger
	// Templates draft public updates; nil means the built-in ones.
	Templates *templates.Set
	// Lint checks public updates before they are published.
	Lint incident.Lint
	// Location is the time zone public updates show times in; nil means UTC.
	Location *time.Location
	// Services are the service names people may declare for and page
	// (/incident declare sev1 payments: ..., /incident page payments).
	Services []string
	// Catalogue is what the team keeps about each service: its card.
	Catalogue []incident.ServiceCard
	// Postmortems writes postmortem drafts; nil means the built-in template.
	Postmortems *postmortem.Writer
	// Names maps Slack user IDs to display names for documents; nil: IDs.
	Names func(ctx context.Context, ids []string) map[string]string
	// Declarers, if not empty, are the only people who may declare
	// (PagerDuty alerts still do).
	Declarers []string
	// Observe, if set, is told each command's name, whether it was
	// rejected, and how long it took (the metrics' command latency).
	Observe func(name string, failed bool, took time.Duration)
	// FindUser finds the Slack user people call name, for commands that
	// name someone without an @-mention; nil: such names are refused.
	FindUser func(ctx context.Context, name string) (string, error)

	once sync.Once
}

// spec is one subcommand, whole: its help, how the rest of its line is
// read, and how it runs and what it answers.
type spec struct {
	Usage
	aliases []string
	// parse reads the words after the command's name into c; nil means the
	// command takes nothing after its name.
	parse func(c *Command, rest, actor string) error
	// run carries the command out.
	run func(d *Dispatcher, ctx context.Context, r request) Result
	// scope says whether the command acts on an incident.
	scope scope
}

type scope int

const (
	onIncident      scope = iota // needs an incident: by reference, or the war room it is typed in
	anywhere                     // needs none: declare, list
	maybeOnIncident              // works with or without one: action items by number
)

// request is one parsed command on its way to its handler.
type request struct {
	Command
	n    int64            // the incident acted on; 0 for anywhere commands
	cmd  incident.Command // what the timeline records
	from origin           // where to answer later
}

// table holds every subcommand: specs in the order a response uses them,
// which is the order help shows them in, and byName by every name and alias
// people type. It is built on first use: the specs' handlers reach the table
// themselves (a rejected command's reply shows its usage), which a package
// variable's initialiser may not.
var table struct {
	once   sync.Once
	specs  []*spec
	byName map[string]*spec
}

func commandTable() ([]*spec, map[string]*spec) {
	table.once.Do(func() {
		table.specs = []*spec{
			declareSpec(), severitySpec(), commanderSpec(), communicatorSpec(), roleSpec(),
			statusSpec(), updateSpec(), impactSpec(), componentsSpec(),
			pageSpec(), serviceSpec(), checklistSpec(), noteSpec(), timelineSpec(),
			resolveSpec(), reopenSpec(), postmortemSpec(), actionSpec(), closeSpec(),
			listSpec(), helpSpec(),
		}
		table.byName = map[string]*spec{}
		for _, s := range table.specs {
			table.byName[s.Name] = s
			for _, a := range s.aliases {
				table.byName[a] = s
			}
		}
	})
	return table.specs, table.byName
}

// lookup returns the spec of a name or alias people typed.
func lookup(name string) (*spec, bool) {
	_, m := commandTable()
	s, ok := m[name]
	return s, ok
}

// Run parses and runs one command. It never returns an error: every
// failure becomes a reply, and every command is in the timeline or audit
// log before Run returns.
func (d *Dispatcher) Run(ctx context.Context, inv Invocation) Result {
	if d.Observe == nil {
		return d.run(ctx, inv)
	}
	start := time.Now()
	res := d.run(ctx, inv)
	name := incident.KindParseError
	if c, err := Parse(inv.Text, inv.User); err == nil || c.Name != "" {
		name = c.Name
	}
	d.Observe(name, res.Failed, time.Since(start))
	return res
}

func (d *Dispatcher) run(ctx context.Context, inv Invocation) Result {
	c, perr := Parse(inv.Text, inv.User)
	// The timeline keeps what the person typed, not Slack's escaping of it.
	cmd := incident.Command{Actor: inv.User, Channel: inv.Channel, Raw: mrkdwn.Unescape(inv.Text), Kind: c.Name}
	if perr != nil {
		return d.unparsed(ctx, inv, c, cmd, perr)
	}
	s, _ := lookup(c.Name)
	if c.UserName != "" {
		if err := d.findUser(ctx, &c); err != nil {
			return d.unparsed(ctx, inv, c, cmd, err)
		}
	}
	r := request{Command: c, cmd: cmd, from: origin{user: inv.User, channel: inv.Channel, responseURL: inv.ResponseURL}}
	if c.Name == "help" {
		return d.record(ctx, d.warRoom(ctx, inv.Channel), cmd, Result{Reply: HelpText(c.Text)})
	}
	if s.scope == anywhere {
		return s.run(d, ctx, r)
	}
	r.n = c.Ref
	var room *incident.Incident // the war room's incident, read once
	if r.n == 0 {
		if inc, err := d.Service.ByChannel(ctx, inv.Channel); err == nil {
			room, r.n = inc, inc.Number
		}
	}
	if r.n != 0 {
		if res, refused := d.unknownOrPrivate(ctx, r.n, room, cmd); refused {
			return res
		}
	}
	if r.n == 0 && s.scope == onIncident {
		msg := fmt.Sprintf("This channel is not a war room, so say which incident: `/incident INC-7 %s`. Open incidents: `/incident list`.", c.Name)
		if err := d.Service.Record(ctx, 0, cmd, msg); err != nil {
			return d.internal(ctx, err)
		}
		return Result{Reply: msg, Failed: true}
	}
	return s.run(d, ctx, r)
}

// unparsed records a command that could not be parsed, on its incident's
// timeline when it named one (or was typed in a war room), and answers with
// what was wrong and the command's usage.
func (d *Dispatcher) unparsed(ctx context.Context, inv Invocation, c Command, cmd incident.Command, perr error) Result {
	cmd.Kind = incident.KindParseError
	if c.Name != "" {
		cmd.Kind = c.Name
	}
	msg := perr.Error() + usageLine(c.Name)
	n := c.Ref
	if n == 0 {
		n = d.warRoom(ctx, inv.Channel)
	}
	if n != 0 {
		if _, err := d.Service.Get(ctx, n); err != nil {
			n = 0 // a reference to no incident: the audit log keeps it
		}
	}
	if err := d.Service.Record(ctx, n, cmd, msg); err != nil {
		return d.internal(ctx, err)
	}
	return Result{Reply: msg, Failed: true}
}

// findUser turns the name a person typed into the user it names.
func (d *Dispatcher) findUser(ctx context.Context, c *Command) error {
	if d.FindUser == nil {
		return errUser("`" + clip(c.UserName, 40) + "` is not a Slack user. Type @ and pick the person from the list, e.g. `@alice`, or say `me`.")
	}
	id, err := d.FindUser(ctx, c.UserName)
	if err != nil {
		return errUser(incident.ErrorMessage(err))
	}
	c.User, c.UserName = id, ""
	return nil
}

// unknownOrPrivate refuses a command about an incident that does not
// exist (audit log) or that is private and the person is outside (its
// timeline), with the same answer for both.
// inc is incident n when the caller has read it already, else nil.
func (d *Dispatcher) unknownOrPrivate(ctx context.Context, n int64, inc *incident.Incident, cmd incident.Command) (Result, bool) {
	var err error
	if inc == nil {
		inc, err = d.Service.Get(ctx, n)
	}
	if incident.ErrorCode(err) == incident.ENotFound {
		msg := incident.ErrorMessage(incident.NoIncident(n))
		if err := d.Service.Record(ctx, 0, cmd, msg); err != nil {
			return d.internal(ctx, err), true
		}
		return Result{Reply: msg, Failed: true}, true
	}
	if err != nil {
		return Result{}, false // the command itself meets the error, and says so
	}
	return d.refuseOutsider(ctx, inc, cmd)
}

// private refuses a command about a private incident from someone outside
// it: not a member, and not typing in its war room. The refusal is on the
// incident's own timeline, for its members to see; the person is answered
// exactly as for an incident that does not exist, so nothing tells them a
// private one is there.
func (d *Dispatcher) private(ctx context.Context, n int64, cmd incident.Command) (Result, bool) {
	inc, err := d.Service.Get(ctx, n)
	if err != nil {
		return Result{}, false
	}
	return d.refuseOutsider(ctx, inc, cmd)
}

// refuseOutsider is private for an incident already read.
func (d *Dispatcher) refuseOutsider(ctx context.Context, inc *incident.Incident, cmd incident.Command) (Result, bool) {
	if inc.Visible(cmd.Actor, cmd.Channel) {
		return Result{}, false
	}
	// The members see that someone outside tried, when, and which
	// command, but not the text: anyone who guesses a number could
	// otherwise put words on a private incident's timeline.
	kind := cmd.Kind
	if kind == "" {
		kind = "command"
	}
	cmd.Raw = kind + " [text withheld: sent from outside this private incident]"
	if err := d.Service.Record(ctx, inc.Number, cmd, "refused: private, and "+Mention(cmd.Actor)+" is outside it"); err != nil {
		return d.internal(ctx, err), true
	}
	return Result{Reply: incident.ErrorMessage(incident.NoIncident(inc.Number)), Failed: true}, true
}

// origin is where a command came from, for follow-ups sent later.
type origin struct{ user, channel, responseURL string }

// texts are what a successful command says: to the war room (post), to the
// announcements channel, to the person who typed it (reply), and whom it
// brings into the room.
type texts struct {
	post, announce, reply string
	invite                []string
	extra                 []incident.Effect // anything else: a word to one person
}

// effects turns texts into Slack effects.
func (t texts) effects() []incident.Effect {
	var fx []incident.Effect
	fx = append(fx, Invite(t.invite...)...)
	fx = append(fx, t.extra...)
	if t.post != "" {
		fx = append(fx, Post(t.post))
	}
	if t.announce != "" {
		fx = append(fx, Announce(t.announce))
	}
	return fx
}

// apply runs a change whose Slack effects say describes; they are planned
// inside the change's transaction, from the incident as it was and is.
func (d *Dispatcher) apply(ctx context.Context, cmd incident.Command, run func(incident.Command) (*incident.Incident, error), say func(before, after *incident.Incident) texts) Result {
	var t texts
	cmd.Effects = func(before, after *incident.Incident, _ incident.Entry) []incident.Effect {
		t = say(before, after)
		return t.effects()
	}
	inc, err := run(cmd)
	if err != nil {
		return d.failed(ctx, err, cmd.Kind)
	}
	return Result{Reply: t.reply, Incident: inc}
}

// failed turns a rejected or failed command into its reply.
func (d *Dispatcher) failed(ctx context.Context, err error, name string) Result {
	if incident.ErrorCode(err) == incident.EInternal {
		return d.internal(ctx, err)
	}
	return Result{Reply: incident.ErrorMessage(err) + usageIfInvalid(err, name), Failed: true}
}

// Refused answers an action on incident n (a button) from someone outside
// a private incident as every other path does, and reports whether it was.
func (d *Dispatcher) Refused(ctx context.Context, n int64, cmd incident.Command) (Result, bool) {
	return d.private(ctx, n, cmd)
}

// internal logs an unexpected error with an id and shows the user only the id.
func (d *Dispatcher) internal(ctx context.Context, err error) Result {
	id := fmt.Sprintf("E%d", time.Now().UnixNano()%1_000_000_000)
	if d.Log != nil {
		d.Log.ErrorContext(ctx, "command failed", "error_id", id, "err", err)
	}
	return Result{Reply: NotRecorded(id), Failed: true}
}

// NotRecorded is the reply to a command warroom could not store (its
// database is unreachable, or a bug): it was not recorded, so the user
// must send it again.
func NotRecorded(id string) string {
	return fmt.Sprintf(":warning: This was *not* recorded: warroom could not save it (error %s). Send it again in a moment. If it keeps failing, tell your warroom admin the error id.", id)
}

// record appends a command that changes nothing, and answers with r.
func (d *Dispatcher) record(ctx context.Context, n int64, cmd incident.Command, r Result) Result {
	if err := d.Service.Record(ctx, n, cmd, incident.OutcomeOK); err != nil {
		return d.internal(ctx, err)
	}
	return r
}

// warRoom returns the incident whose war room channel is, or 0.
func (d *Dispatcher) warRoom(ctx context.Context, channel string) int64 {
	inc, err := d.Service.ByChannel(ctx, channel)
	if err != nil {
		return 0
	}
	return inc.Number
}

func outcome(err error) string {
	if err == nil {
		return incident.OutcomeOK
	}
	return incident.ErrorMessage(err)
}

func usageIfInvalid(err error, name string) string {
	if incident.ErrorCode(err) == incident.EInvalid {
		return usageLine(name)
	}
	return ""
}

func nextHint(inc *incident.Incident) string { return "\nNext: " + inc.NextStep() }

func roomLink(inc *incident.Incident) string {
	if inc.ChannelID == "" {
		return "(war room being created)"
	}
	return "<#" + inc.ChannelID + ">"
}

// Mention formats a user ID as a Slack mention, or "nobody yet".
func Mention(u string) string {
	if u == "" {
		return "nobody yet"
	}
	return "<@" + u + ">"
}

// TitleCase capitalises the first letter of a status or stage name.
func TitleCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// user quotes text a person typed into a message of warroom's: it keeps
// mentions of people and channels, and cannot ping @channel or @here.
func user(s string) string { return mrkdwn.EscapeUser(strings.TrimSpace(s)) }

// FormatDuration renders a duration for people: 45s, 12m, 3h05m, 2d4h.
func FormatDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
}

func linkOr(url, text string) string {
	if url == "" {
		return user(text)
	}
	return "<" + url + "|" + user(text) + ">"
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
