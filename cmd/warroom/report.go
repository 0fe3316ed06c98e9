package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/slack-go/slack"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/report"
)

// reportCmd prints the weekly action-item report, the same one the bot
// posts, for mail or an archive.
func reportCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	const usage = "usage: warroom report weekly [--since YYYY-MM-DD] [--format markdown|json|slack]"
	if len(args) == 0 || args[0] != "weekly" {
		return usageError(usage)
	}
	var c Config
	fs := newFlagSet("report weekly", &c, getenv, stderr, "db", "timezone", "bot-token", "slack-api-url")
	since := fs.String("since", "", "first day of the week reported, in WARROOM_TIMEZONE (default: 7 days ago)")
	format := fs.String("format", "markdown", "markdown, json or slack")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 || (*format != "markdown" && *format != "json" && *format != "slack") {
		return usageError(usage)
	}
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		return fmt.Errorf("WARROOM_TIMEZONE: %w", err)
	}
	var from time.Time
	if *since != "" {
		if from, err = time.ParseInLocation(time.DateOnly, *since, loc); err != nil {
			return usageError(fmt.Sprintf("--since %q is not a date like 2026-11-16\n%s", *since, usage))
		}
	}
	db, err := openExisting(ctx, c.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	svc := incident.NewService(db, nil)
	now := time.Now()
	if !from.IsZero() && from.After(now) {
		return usageError("--since is in the future")
	}
	in, err := report.Gather(ctx, svc, now, from, loc)
	if err != nil {
		return err
	}
	r := report.Build(in)
	switch *format {
	case "json":
		return report.JSON(stdout, r)
	case "slack":
		_, err = fmt.Fprintln(stdout, report.Slack(r, loc))
		return err
	}
	names := reportNames(ctx, c, svc, r)
	_, err = io.WriteString(stdout, report.Markdown(r, func(id string) string {
		if n := names[id]; n != "" {
			return "@" + n
		}
		return "@" + id
	}, loc))
	return err
}

// reportNames are the report's owners' display names: those warroom has
// stored, and, when a Slack token is set, the rest from Slack within 5
// seconds. A person neither knows shows as their user ID.
func reportNames(ctx context.Context, c Config, svc *incident.Service, r report.Report) map[string]string {
	var ids []string
	for _, o := range r.ByOwner {
		ids = append(ids, o.Owner)
	}
	for _, it := range r.ClosedThisWeek {
		ids = append(ids, it.Owner)
	}
	names, err := svc.Names(ctx, ids)
	if err != nil {
		names = map[string]string{}
	}
	if c.BotToken == "" {
		return names
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	api := slack.New(c.BotToken, slack.OptionAPIURL(c.APIURL))
	for _, id := range ids {
		if _, seen := names[id]; seen || id == "" || ctx.Err() != nil {
			continue
		}
		names[id] = ""
		if u, err := api.GetUserInfoContext(ctx, id); err == nil {
			names[id] = firstNonEmpty(u.Profile.DisplayName, u.Name)
		}
	}
	return names
}
