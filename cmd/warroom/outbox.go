package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/warroom/warroom/incident"
)

const outboxUsage = "usage: warroom outbox list [--all] [--incident INC-7] [--json] | warroom outbox retry <id>"

// outboxCmd shows what warroom still has to deliver to Slack, PagerDuty,
// Jira and Statuspage, and puts failed work back in line.
func outboxCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "retry") {
		return usageError(outboxUsage)
	}
	var c Config
	fs := newFlagSet("outbox "+args[0], &c, getenv, stderr, "db")
	all := fs.Bool("all", false, "include delivered work (list)")
	ref := fs.String("incident", "", "only this incident, e.g. INC-7 (list)")
	asJSON := fs.Bool("json", false, "print JSON (list)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	db, err := openExisting(ctx, c.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	if args[0] == "retry" {
		id, err := strconv.ParseInt(strings.TrimPrefix(fs.Arg(0), "#"), 10, 64)
		if fs.NArg() != 1 || err != nil {
			return usageError(outboxUsage)
		}
		ok, err := db.RequeueEffect(ctx, id, time.Now())
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("no failed or expired outbox item #%d; see `warroom outbox list`", id)
		}
		fmt.Fprintf(stdout, "#%d is queued again; a running warroom delivers it within a second.\n", id)
		return nil
	}
	f := incident.EffectFilter{Limit: 1000}
	if !*all {
		f.States = []string{incident.EffectPending, incident.EffectFailed, incident.EffectExpired}
	}
	if *ref != "" {
		n, ok := incident.ParseRef(*ref)
		if !ok {
			return usageError(outboxUsage)
		}
		f.Incident = n
	}
	fx, err := db.Effects(ctx, f)
	if err != nil {
		return err
	}
	if *asJSON {
		type row struct {
			ID        int64             `json:"id"`
			Incident  string            `json:"incident"`
			Kind      string            `json:"kind"`
			State     string            `json:"state"`
			Attempts  int               `json:"attempts"`
			Created   time.Time         `json:"created"`
			NextAt    *time.Time        `json:"next_at,omitempty"`
			LastError string            `json:"last_error,omitempty"`
			Payload   map[string]string `json:"payload"`
		}
		out := make([]row, 0, len(fx))
		for _, e := range fx {
			r := row{ID: e.ID, Incident: incident.Ref(e.Incident), Kind: e.Kind, State: e.State, Attempts: e.Attempts, Created: e.Created, LastError: e.LastError, Payload: e.Payload}
			if e.State == incident.EffectPending {
				r.NextAt = &e.NextAt
			}
			if r.Payload["response_url"] != "" {
				r.Payload["response_url"] = "(set)" // it lets anyone answer the user
			}
			out = append(out, r)
		}
		return writeJSON(stdout, out)
	}
	if len(fx) == 0 {
		fmt.Fprintln(stdout, "Nothing waiting: everything warroom had to send is delivered.")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tINCIDENT\tKIND\tSTATE\tATTEMPTS\tNEXT (UTC)\tLAST ERROR")
	for _, e := range fx {
		next := "-"
		if e.State == incident.EffectPending {
			next = e.NextAt.UTC().Format("15:04:05")
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\n", e.ID, incident.Ref(e.Incident), e.Kind, e.State, e.Attempts, next, orDash(oneLineClip(e.LastError, 100)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "\nPending work is retried by the running warroom. Put failed work back in line: warroom outbox retry <id>")
	return nil
}

func oneLineClip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
