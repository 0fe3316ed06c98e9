package commands

// The document stage: resolving, reopening and closing an incident, and its
// postmortem draft. Action items are in actions.go.

import (
	"context"
	"fmt"
	"strings"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/postmortem"
)

func resolveSpec() *spec {
	return &spec{
		Usage: Usage{"resolve", "/incident resolve [summary]", "Resolve the incident (the commander only); the document stage starts.", "/incident resolve Rollback fixed it"},
		parse: func(c *Command, rest, _ string) error {
			c.Text = rest
			return nil
		},
		run: (*Dispatcher).runResolve,
	}
}

// runResolve resolves the incident, from /incident resolve or
// /incident status resolved.
func (d *Dispatcher) runResolve(ctx context.Context, r request) Result {
	res := d.apply(ctx, r.cmd, func(cmd incident.Command) (*incident.Incident, error) {
		return d.Service.Resolve(ctx, r.n, cmd, r.Text)
	}, func(_, inc *incident.Incident) texts { return resolvedTexts(inc, r.cmd.Actor, r.Text) })
	return d.afterResolve(ctx, res)
}

func resolvedTexts(inc *incident.Incident, actor, summary string) texts {
	post := fmt.Sprintf(":white_check_mark: <@%s> resolved %s after %s.", actor, inc.Ref(), FormatDuration(inc.Durations().ToResolve))
	if summary != "" {
		post += " " + user(summary)
	}
	reply := inc.Ref() + " is resolved." + nextHint(inc)
	if inc.OwesFinalUpdate() {
		reply = fmt.Sprintf("%s is resolved. The status page still says %s: publish the final update by %s: `/incident update resolved`",
			inc.Ref(), incident.TitleCaseStatus(inc.PublicStatus), inc.NextUpdateDue.UTC().Format("15:04 UTC"))
	}
	return texts{
		post:     post,
		announce: fmt.Sprintf(":white_check_mark: %s resolved: %s (open %s) — war room %s", inc.Ref(), user(inc.Title), FormatDuration(inc.Durations().ToResolve), roomLink(inc)),
		reply:    reply,
	}
}

// afterResolve tells the resolver that the postmortem draft is on its way
// (written through the outbox, however the incident was resolved).
func (d *Dispatcher) afterResolve(ctx context.Context, res Result) Result {
	if res.Failed || res.Incident == nil {
		return res
	}
	if d.Service.Enabled(incident.KindPostmortemDraft) {
		res.Reply += "\nA postmortem draft is being uploaded to the war room."
	}
	res.Reply += openStepsText(res.Incident, d.Service.Enabled(incident.KindPostmortemDraft)) + d.overnight(ctx, res.Incident)
	return res
}

// overnight names the people who acted in the night in an incident just
// resolved, in the war room (a notice on the timeline) and for the
// resolver: they get a day to recover. It returns the resolver's line, or
// "" when nobody did.
func (d *Dispatcher) overnight(ctx context.Context, inc *incident.Incident) string {
	entries, err := d.Service.Timeline(ctx, inc.Number, incident.Page{})
	if err != nil {
		return "" // the resolve stands; the reminder is a courtesy
	}
	people := incident.OvernightResponders(entries, d.location())
	if len(people) == 0 {
		return ""
	}
	names := make([]string, len(people))
	for i, p := range people {
		names[i] = Mention(p)
	}
	text := fmt.Sprintf(":crescent_moon: %s worked on %s between %02d:00 and %02d:00 (%s). Take a day to recover, and say here who covers for you.",
		strings.Join(names, ", "), inc.Ref(), incident.OvernightFrom, incident.OvernightTo, d.location())
	if err := d.Service.Notice(ctx, inc.Number, text, map[string]string{"overnight": strings.Join(people, ",")}); err != nil {
		return ""
	}
	return "\n" + text
}

// DeliverDraft writes the postmortem draft of an incident that was just
// resolved: the outbox's handler of incident.KindPostmortemDraft. A draft
// written since the effect was queued (an earlier attempt, or someone's
// /incident postmortem) is enough.
func (d *Dispatcher) DeliverDraft(ctx context.Context, e incident.Effect) error {
	if pm, err := d.Service.Postmortem(ctx, e.Incident, 0); err == nil && !pm.Created.Before(e.Created) {
		return nil
	}
	res := d.WritePostmortem(ctx, e.Incident, incident.Command{Actor: incident.SystemActor, Kind: incident.KindPostmortem, Raw: "postmortem at resolve"})
	if res.Failed {
		return fmt.Errorf("writing the postmortem draft of %s: %s", incident.Ref(e.Incident), res.Reply)
	}
	return nil
}

func reopenSpec() *spec {
	return &spec{
		Usage: Usage{"reopen", "/incident reopen", "Reopen a resolved incident.", "/incident reopen"},
		run: func(d *Dispatcher, ctx context.Context, r request) Result {
			return d.apply(ctx, r.cmd, func(cmd incident.Command) (*incident.Incident, error) {
				return d.Service.Reopen(ctx, r.n, cmd)
			}, func(_, inc *incident.Incident) texts {
				return texts{
					post:     fmt.Sprintf(":warning: <@%s> reopened %s. Status is back to *investigating*.", r.cmd.Actor, inc.Ref()),
					announce: fmt.Sprintf(":warning: %s was reopened: %s — war room %s", inc.Ref(), user(inc.Title), roomLink(inc)),
					reply:    inc.Ref() + " is open again." + nextHint(inc),
				}
			})
		},
	}
}

func closeSpec() *spec {
	return &spec{
		Usage: Usage{"close", "/incident close", "Close a resolved incident when its review is done (the commander only); the war room is archived.", "/incident close"},
		run: func(d *Dispatcher, ctx context.Context, r request) Result {
			return d.Close(ctx, r.cmd, r.n, false)
		},
	}
}

// Close closes incident n and archives its war room; confirmed says the
// commander pressed the button that confirms an early close.
func (d *Dispatcher) Close(ctx context.Context, cmd incident.Command, n int64, confirmed bool) Result {
	cmd.Kind = "close"
	var code string
	res := d.apply(ctx, cmd, func(cmd incident.Command) (*incident.Incident, error) {
		inc, err := d.Service.Close(ctx, n, cmd, confirmed)
		code = incident.ErrorCode(err)
		return inc, err
	}, func(_, inc *incident.Incident) texts {
		return texts{post: fmt.Sprintf(":white_check_mark: <@%s> closed %s. This channel will be archived; the timeline stays in warroom.", cmd.Actor, inc.Ref()),
			reply: inc.Ref() + " is closed. Its war room is being archived; its record stays: `warroom incidents show " + inc.Ref() + "`."}
	})
	if code == incident.EConfirm {
		res.Confirm = &Confirm{Label: "Close and archive now", Action: "close", Incident: n}
	}
	return res
}

func postmortemSpec() *spec {
	return &spec{
		Usage: Usage{"postmortem", "/incident postmortem",
			"Write a postmortem draft from the timeline (a new version each time) and upload it to the war room.", "/incident postmortem"},
		aliases: []string{"pm"},
		parse: func(c *Command, rest, _ string) error {
			if rest != "" {
				return errUser("`postmortem` takes nothing after it: `/incident postmortem` writes a new draft from the timeline.")
			}
			return nil
		},
		run: func(d *Dispatcher, ctx context.Context, r request) Result {
			return d.WritePostmortem(ctx, r.n, r.cmd)
		},
	}
}

// WritePostmortem writes a new version of incident n's postmortem draft
// from its record, stores it with its timeline entry, and has it uploaded
// to the war room.
func (d *Dispatcher) WritePostmortem(ctx context.Context, n int64, cmd incident.Command) Result {
	cmd.Kind = incident.KindPostmortem
	in, err := d.postmortemInput(ctx, n)
	if err != nil {
		if rerr := d.Service.Record(ctx, 0, cmd, incident.ErrorMessage(err)); rerr != nil {
			return d.internal(ctx, rerr)
		}
		return d.failed(ctx, err, "postmortem")
	}
	w, err := d.postmortemWriter()
	if err != nil {
		return d.internal(ctx, err)
	}
	cmd.Effects = func(_, _ *incident.Incident, e incident.Entry) []incident.Effect {
		return []incident.Effect{{Kind: SlackFile, Payload: map[string]string{"version": e.Detail["version"]}}}
	}
	pm, err := d.Service.SavePostmortem(ctx, n, cmd, func(v int) (string, string, error) {
		in.Version, in.Generated = v, d.Service.Now()
		md, err := w.Write(in)
		if err != nil {
			return "", "", err
		}
		html, err := postmortem.HTML(fmt.Sprintf("%s postmortem v%d", in.Incident.Ref(), v), md)
		return md, html, err
	})
	if err != nil {
		return d.failed(ctx, err, "postmortem")
	}
	return Result{Incident: in.Incident, Reply: fmt.Sprintf("Postmortem draft v%d for %s is written from the timeline (%d entries) and is being uploaded to the war room. Read it any time: `warroom postmortem %s`. Typing `/incident postmortem` again writes v%d and keeps this one.",
		pm.Version, pm.Ref(), len(in.Entries), pm.Ref(), pm.Version+1)}
}

func (d *Dispatcher) postmortemWriter() (*postmortem.Writer, error) {
	if d.Postmortems != nil {
		return d.Postmortems, nil
	}
	set, err := d.templates()
	if err != nil {
		return nil, err
	}
	return postmortem.NewWriter(set)
}

// postmortemInput gathers the record a draft is written from.
func (d *Dispatcher) postmortemInput(ctx context.Context, n int64) (postmortem.Input, error) {
	inc, err := d.Service.Get(ctx, n)
	if err != nil {
		return postmortem.Input{}, err
	}
	in := postmortem.Input{Incident: inc}
	if in.Entries, err = d.Service.Timeline(ctx, n, incident.Page{}); err != nil {
		return in, err
	}
	if in.Updates, err = d.Service.PublicUpdates(ctx, n); err != nil {
		return in, err
	}
	if in.Links, err = d.Service.Links(ctx, n); err != nil {
		return in, err
	}
	if in.Actions, err = d.Service.ActionItems(ctx, incident.ActionFilter{Incident: n}); err != nil {
		return in, err
	}
	if d.Names != nil {
		seen := map[string]bool{}
		var ids []string
		add := func(u string) {
			if u != "" && !seen[u] {
				seen[u] = true
				ids = append(ids, u)
			}
		}
		add(inc.DeclaredBy)
		add(inc.Commander)
		add(inc.Communicator)
		for _, u := range inc.Roles {
			add(u)
		}
		for _, e := range in.Entries {
			add(e.Actor)
		}
		for _, a := range in.Actions {
			add(a.Owner)
		}
		in.Names = d.Names(ctx, ids)
	}
	return in, nil
}

// DraftPostmortem writes incident n's draft from its record without storing
// it (warroom postmortem, when none was stored).
func (d *Dispatcher) DraftPostmortem(ctx context.Context, n int64) (string, error) {
	in, err := d.postmortemInput(ctx, n)
	if err != nil {
		return "", err
	}
	w, err := d.postmortemWriter()
	if err != nil {
		return "", err
	}
	in.Generated = d.Service.Now()
	return w.Write(in)
}
