// Command warroom is a self-hosted incident-response bot for Slack.
//
//	warroom serve                      run the bot
//	warroom migrate                    apply database migrations
//	warroom incidents list [--json]    list incidents
//	warroom incidents show INC-7       one incident with its timeline
//	warroom version
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/warroom/warroom/commands"
	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/internal/mrkdwn"
	"github.com/warroom/warroom/store"
)

// version is set at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

func main() { os.Exit(runWithSignals(os.Args[1:])) }

// runWithSignals runs the command line with SIGINT and SIGTERM wired up:
// the first starts a graceful shutdown; restoring the default handling
// then makes a second one end the process at once.
func runWithSignals(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, args, os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	return code
}

const usage = `warroom runs incident response from Slack.

Usage:
  warroom sandbox [--reset]               try warroom here, with a simulated Slack
  warroom serve [flags]                   run the bot (see: warroom serve -h)
  warroom check                           validate the settings and test each connection
  warroom migrate [--db FILE]             apply database migrations
  warroom incidents list [--all] [--json] list open (or all) incidents
  warroom incidents show INC-7 [--json]   show one incident and its timeline
  warroom statuspage export DIR [--watch] write the status page as static files
  warroom runbooks export DIR             write the checklists and service cards as static HTML
  warroom outbox list [--all] [--json]    what is still to be sent to Slack, PagerDuty, Jira, Statuspage
  warroom outbox retry ID                 send a failed item again
  warroom postmortem INC-7 [--format html] print the incident's postmortem draft
  warroom report weekly [--since DATE] [--format markdown|json|slack]
                                          print the weekly action-item report
  warroom version                         print the version
`

// run is main without the process: tests call it with their own
// arguments, environment and output.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	getenv, err := withConfigFile(getenv)
	if err != nil {
		fmt.Fprintln(stderr, "warroom:", err)
		return 2
	}
	switch args[0] {
	case "serve":
		err = serveCmd(ctx, args[1:], stdout, stderr, getenv)
	case "sandbox":
		err = sandboxCmd(ctx, args[1:], stdin, stdout, stderr, getenv)
	case "migrate":
		err = migrateCmd(ctx, args[1:], stdout, stderr, getenv)
	case "incidents":
		err = incidentsCmd(ctx, args[1:], stdout, stderr, getenv)
	case "check":
		err = checkCmd(ctx, args[1:], stdout, stderr, getenv)
	case "statuspage":
		err = statuspageCmd(ctx, args[1:], stdout, stderr, getenv)
	case "runbooks":
		err = runbooksCmd(ctx, args[1:], stdout, stderr, getenv)
	case "outbox":
		err = outboxCmd(ctx, args[1:], stdout, stderr, getenv)
	case "report":
		err = reportCmd(ctx, args[1:], stdout, stderr, getenv)
	case "postmortem":
		err = postmortemCmd(ctx, args[1:], stdout, stderr, getenv)
	case "version":
		fmt.Fprintln(stdout, "warroom", version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "warroom: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		var u usageError
		if errors.As(err, &u) {
			fmt.Fprintln(stderr, "warroom:", err)
			return 2
		}
		fmt.Fprintln(stderr, "warroom:", err)
		return 1
	}
	return 0
}

// openExisting opens the database of a subcommand that reads it, refusing
// to create an empty one where the path is wrong.
func openExisting(ctx context.Context, path string) (*store.DB, error) {
	if store.IsPostgres(path) {
		return store.Open(ctx, path)
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("no database at %s (set WARROOM_DB or --db)", path)
	}
	return store.Open(ctx, path)
}

// cliError is a domain error as the command line says it: the hints in
// warroom's Slack replies name slash commands, which are no use here.
func cliError(err error, n int64) error {
	if incident.ErrorCode(err) == incident.ENotFound {
		return fmt.Errorf("%s does not exist. List them all: warroom incidents list --all", incident.Ref(n))
	}
	if incident.ErrorCode(err) == incident.EInternal {
		return err
	}
	return errors.New(incident.ErrorMessage(err))
}

// names returns the display names warroom has stored for the people of
// incs, and a function that writes one as a person reads it.
func names(ctx context.Context, svc *incident.Service, incs ...*incident.Incident) func(id string) string {
	var ids []string
	for _, inc := range incs {
		ids = append(ids, inc.DeclaredBy, inc.Commander, inc.Communicator)
		for _, u := range inc.Roles {
			ids = append(ids, u)
		}
	}
	return namesOf(ctx, svc, ids)
}

// namesOf is names for any user IDs.
func namesOf(ctx context.Context, svc *incident.Service, ids []string) func(id string) string {
	known, _ := svc.Names(ctx, ids)
	return func(id string) string {
		switch {
		case id == "":
			return "-"
		case id == incident.SystemActor, id == incident.AlertActor:
			return id
		case known[id] != "":
			return "@" + known[id]
		}
		return id
	}
}

// usageError is a mistake in how warroom was invoked (exit status 2).
type usageError string

func (e usageError) Error() string { return string(e) }

func newLogger(level string, w io.Writer) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

func migrateCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	var c Config
	fs := newFlagSet("migrate", &c, getenv, stderr, "db")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// What it lacks before, to say what was applied (another replica
	// starting at the same moment may apply some of them instead).
	pending, _ := store.Pending(ctx, c.DB)
	db, err := store.Open(ctx, c.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	if len(pending) > 0 {
		fmt.Fprintf(stdout, "applied %d migration(s) to %s: %s; it is up to date now\n", len(pending), store.Redact(c.DB), strings.Join(pending, ", "))
		return nil
	}
	fmt.Fprintf(stdout, "database %s was already up to date: nothing to apply\n", store.Redact(c.DB))
	return nil
}

func incidentsCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "show") {
		return usageError("usage: warroom incidents list [--all] [--json] | warroom incidents show INC-7 [--json]")
	}
	var c Config
	fs := newFlagSet("incidents "+args[0], &c, getenv, stderr, "db")
	asJSON := fs.Bool("json", false, "print JSON")
	all := fs.Bool("all", false, "include resolved incidents (list)")
	rest := args[1:]
	var ref string
	if args[0] == "show" && len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		ref, rest = rest[0], rest[1:]
	}
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if ref == "" && fs.NArg() > 0 {
		ref = fs.Arg(0)
	}
	db, err := openExisting(ctx, c.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	svc := incident.NewService(db, nil)
	if args[0] == "list" {
		list, err := svc.List(ctx, incident.Filter{OpenOnly: !*all, Limit: 1000})
		if err != nil {
			return err
		}
		if *asJSON {
			out := make([]incidentJSON, 0, len(list))
			for _, inc := range list {
				out = append(out, toJSON(inc, nil, nil))
			}
			return writeJSON(stdout, out)
		}
		if len(list) == 0 {
			if *all {
				_, err := fmt.Fprintln(stdout, "No incidents yet.")
				return err
			}
			_, err := fmt.Fprintln(stdout, "No open incidents. All of them: warroom incidents list --all")
			return err
		}
		who := names(ctx, svc, list...)
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "REF\tSEV\tSTATUS\tSTAGE\tCOMMANDER\tDECLARED (UTC)\tTITLE")
		for _, inc := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", inc.Ref(), inc.Severity, inc.Status, inc.Stage, who(inc.Commander), inc.DeclaredAt.Format("2006-01-02 15:04"), inc.Title)
		}
		return tw.Flush()
	}
	n, ok := incident.ParseRef(ref)
	if !ok {
		return usageError("usage: warroom incidents show INC-7 [--json]")
	}
	inc, err := svc.Get(ctx, n)
	if err != nil {
		return cliError(err, n)
	}
	entries, err := svc.Timeline(ctx, n, incident.Page{})
	if err != nil {
		return err
	}
	updates, err := svc.PublicUpdates(ctx, n)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(stdout, toJSON(inc, entries, updates))
	}
	d := inc.Durations()
	actors := []string{inc.DeclaredBy, inc.Commander, inc.Communicator}
	for _, e := range entries {
		actors = append(actors, e.Actor)
	}
	for _, u := range updates {
		actors = append(actors, u.Author)
	}
	who := namesOf(ctx, svc, actors)
	fmt.Fprintf(stdout, "%s %s %s\nstatus %s, stage %s, commander %s, communicator %s\nchannel #%s\n",
		inc.Ref(), inc.Severity, inc.Title, inc.Status, inc.Stage, who(inc.Commander), who(inc.Communicator), orDash(inc.ChannelName))
	fmt.Fprintf(stdout, "declared %s; to acknowledge %s, to mitigate %s, to resolve %s\n",
		inc.DeclaredAt.Format(time.RFC3339), dur(d.ToAcknowledge), dur(d.ToMitigate), dur(d.ToResolve))
	if len(updates) > 0 {
		fmt.Fprintf(stdout, "\nPublic updates, as published (UTC):\n")
		for _, u := range updates {
			fmt.Fprintf(stdout, "%s  %-13s by %s, impact %s: %s\n    %s\n", u.At.Format("2006-01-02 15:04:05"), u.Status, who(u.Author), u.Impact, u.Title,
				strings.ReplaceAll(strings.TrimSpace(u.Body), "\n", "\n    "))
		}
	}
	fmt.Fprintf(stdout, "\nTimeline (UTC):\n")
	for _, e := range entries {
		outcome := "ok"
		if !e.OK() {
			outcome = "rejected: " + e.Outcome
		}
		readable := func(s string) string {
			return mrkdwn.Readable(s, func(id string) string { return strings.TrimPrefix(who(id), "@") })
		}
		what := readable(e.Raw)
		if e.Kind == incident.KindConversation && e.OK() && e.Detail["change"] == "" {
			// The message's author said it; the actor put it in.
			what = fmt.Sprintf("%s: %s (put in by %s; %s)", who(e.Detail["author"]), readable(e.Detail["text"]), who(e.Actor), e.Detail["permalink"])
		}
		fmt.Fprintf(stdout, "%s  %-10s %-12s %s  [%s]\n", e.At.Format("2006-01-02 15:04:05"), who(e.Actor), e.Kind, what, readable(outcome))
	}
	return nil
}

type entryJSON struct {
	ID      int64             `json:"id"`
	At      time.Time         `json:"at"`
	Actor   string            `json:"actor"`
	Channel string            `json:"channel"`
	Kind    string            `json:"kind"`
	Raw     string            `json:"raw"`
	Outcome string            `json:"outcome"`
	Detail  map[string]string `json:"detail,omitempty"`
}

type incidentJSON struct {
	Ref            string            `json:"ref"`
	Number         int64             `json:"number"`
	Title          string            `json:"title"`
	Service        string            `json:"service,omitempty"`
	Description    string            `json:"description,omitempty"`
	Severity       string            `json:"severity"`
	Stage          string            `json:"stage"`
	Status         string            `json:"status"`
	DeclaredBy     string            `json:"declared_by"`
	Commander      string            `json:"commander"`
	Communicator   string            `json:"communicator"`
	Roles          map[string]string `json:"roles"`
	ChannelID      string            `json:"channel_id"`
	ChannelName    string            `json:"channel_name"`
	DeclaredAt     time.Time         `json:"declared_at"`
	AcknowledgedAt *time.Time        `json:"acknowledged_at"`
	MitigatedAt    *time.Time        `json:"mitigated_at"`
	ResolvedAt     *time.Time        `json:"resolved_at"`
	ClosedAt       *time.Time        `json:"closed_at"`
	Durations      map[string]int64  `json:"durations_seconds"`
	Components     map[string]string `json:"components"`
	NextUpdateDue  *time.Time        `json:"next_update_due"`
	PublicStatus   string            `json:"public_status,omitempty"`
	PublicTitle    string            `json:"public_title,omitempty"`
	PublicUpdates  []publicJSON      `json:"public_updates,omitempty"`
	Timeline       []entryJSON       `json:"timeline,omitempty"`
	Checklist      []incident.Step   `json:"checklist,omitempty"`
}

type publicJSON struct {
	At            time.Time         `json:"at"`
	Author        string            `json:"author"`
	Status        string            `json:"status"`
	Title         string            `json:"title"`
	Body          string            `json:"body"`
	Components    map[string]string `json:"components"`
	Impact        string            `json:"impact"`
	NextUpdateDue *time.Time        `json:"next_update_due"`
}

func toJSON(inc *incident.Incident, entries []incident.Entry, updates []incident.PublicUpdate) incidentJSON {
	opt := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		return &t
	}
	d := inc.Durations()
	out := incidentJSON{
		Ref: inc.Ref(), Number: inc.Number, Title: inc.Title, Service: inc.Service, Description: inc.Description, Severity: inc.Severity.String(),
		Stage: string(inc.Stage), Status: string(inc.Status), DeclaredBy: inc.DeclaredBy, Commander: inc.Commander,
		Communicator: inc.Communicator, Roles: inc.Roles, ChannelID: inc.ChannelID, ChannelName: inc.ChannelName,
		DeclaredAt: inc.DeclaredAt, AcknowledgedAt: opt(inc.AcknowledgedAt), MitigatedAt: opt(inc.MitigatedAt),
		ResolvedAt: opt(inc.ResolvedAt), ClosedAt: opt(inc.ClosedAt),
		Durations:     map[string]int64{"to_acknowledge": int64(d.ToAcknowledge.Seconds()), "to_mitigate": int64(d.ToMitigate.Seconds()), "to_resolve": int64(d.ToResolve.Seconds())},
		Components:    map[string]string{},
		NextUpdateDue: opt(inc.NextUpdateDue),
		PublicStatus:  string(inc.PublicStatus),
		Checklist:     inc.Checklist,
	}
	if inc.Published() {
		out.PublicTitle = inc.PublicTitle
	}
	for name, st := range inc.Components {
		out.Components[name] = string(st)
	}
	for _, u := range updates {
		comps := map[string]string{}
		for name, st := range u.Components {
			comps[name] = string(st)
		}
		out.PublicUpdates = append(out.PublicUpdates, publicJSON{At: u.At, Author: u.Author, Status: string(u.Status), Title: u.Title, Body: u.Body,
			Components: comps, Impact: u.Impact, NextUpdateDue: opt(u.NextUpdateDue)})
	}
	for _, e := range entries {
		out.Timeline = append(out.Timeline, entryJSON{ID: e.ID, At: e.At, Actor: e.Actor, Channel: e.Channel, Kind: e.Kind, Raw: e.Raw, Outcome: e.Outcome, Detail: e.Detail})
	}
	return out
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func dur(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return commands.FormatDuration(d)
}
