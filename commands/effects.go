package commands

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/warroom/warroom/incident"
)

// Slack effects: the work on Slack that commands call for, beyond the
// reply to the person who typed them. They go through the outbox (see
// incident.Effect); the bot delivers them.
const (
	// SlackRoom creates the war room. Payload: user, channel, response_url
	// of the declaration, to tell the declarer when it is ready.
	SlackRoom = "slack.room"
	// SlackSummary sets the room's purpose and topic and posts and pins the summary.
	SlackSummary = "slack.summary"
	// SlackPost posts "text" to the war room; "split" ("n:source:id") adds a
	// button that splits that grouped alert into its own incident, and
	// "update" (a status) one that opens the preview of that public update.
	SlackPost = "slack.post"
	// SlackAnnounce posts "text" to the announcements channel.
	SlackAnnounce = "slack.announce"
	// SlackInvite brings "users" (comma-separated) into the war room.
	SlackInvite = "slack.invite"
	// SlackRefresh brings the pinned summary and the topic up to date.
	SlackRefresh = "slack.refresh"
	// SlackReminder posts a reminder ("kind", "due") with its buttons.
	SlackReminder = "slack.reminder"
	// SlackTell sends "text" only to "user", through "response_url" or as
	// an ephemeral message in "channel".
	SlackTell = "slack.tell"
	// SlackArchive archives the war room of a closed incident.
	SlackArchive = "slack.archive"
	// SlackFile uploads postmortem draft "version" to the war room.
	SlackFile = "slack.file"
	// SlackCard posts the service's card ("service") to the war room and
	// tells the service's own channel ("channel") about the incident.
	SlackCard = "slack.card"
)

// SlackKinds lists every Slack effect kind.
var SlackKinds = []string{SlackRoom, SlackSummary, SlackPost, SlackAnnounce, SlackInvite, SlackRefresh, SlackReminder, SlackTell, SlackArchive, SlackFile, SlackChecklist, SlackCard, incident.KindCaptureFetch}

// Post is a slack.post effect.
func Post(text string) incident.Effect {
	return incident.Effect{Kind: SlackPost, Payload: map[string]string{"text": text}}
}

// Announce is a slack.announce effect.
func Announce(text string) incident.Effect {
	return incident.Effect{Kind: SlackAnnounce, Payload: map[string]string{"text": text}}
}

// Invite is a slack.invite effect; nobody to invite is no effect.
func Invite(users ...string) []incident.Effect {
	var keep []string
	for _, u := range users {
		if u != "" && u != incident.AlertActor && u != incident.SystemActor && !contains(keep, u) {
			keep = append(keep, u)
		}
	}
	if len(keep) == 0 {
		return nil
	}
	return []incident.Effect{{Kind: SlackInvite, Payload: map[string]string{"users": strings.Join(keep, ",")}}}
}

// Tell is a slack.tell effect to the person who typed a command.
func Tell(user, channel, responseURL, text string) incident.Effect {
	return incident.Effect{Kind: SlackTell, Payload: map[string]string{"user": user, "channel": channel, "response_url": responseURL, "text": text}}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Planner plans the Slack effects of changes no slash command made: alerts,
// reminders, notices, the on-call commander, and keeping every war room's
// summary current. Commands plan their own posts (Command.Effects).
func (d *Dispatcher) Planner(before, after *incident.Incident, e incident.Entry) []incident.Effect {
	var fx []incident.Effect
	switch {
	case e.Kind == "declare" && before == nil && e.Actor == incident.AlertActor:
		fx = append(fx, incident.Effect{Kind: SlackRoom, Payload: map[string]string{}})
	case e.Kind == incident.KindAlertGrouped:
		p := Post(fmt.Sprintf(":bell: Another alert was grouped into %s: %s (%s).%s Same service or group within the correlation window.",
			after.Ref(), user(e.Detail["title"]), user(e.Detail["service"]), linkText(e.Detail["url"], "open in PagerDuty")))
		// The button carries the incident it is posted in, so a second
		// click finds the alert moved already.
		p.Payload["split"] = strconv.FormatInt(after.Number, 10) + ":" + e.Detail["source"] + ":" + e.Detail["alert"]
		fx = append(fx, p)
	case strings.HasPrefix(e.Kind, "alert_") && e.Kind != "alert_split":
		fx = append(fx, Post(fmt.Sprintf(":bell: PagerDuty: alert %s was %s.%s", user(e.Detail["alert"]), strings.TrimPrefix(e.Kind, "alert_"), linkText(e.Detail["url"], "open in PagerDuty"))))
	case strings.HasPrefix(e.Kind, "page_"):
		fx = append(fx, Post(fmt.Sprintf(":pager: %s %s the page (%s).%s", user(firstOf(e.Detail["by"], "PagerDuty")), strings.TrimPrefix(e.Kind, "page_"), user(e.Detail["page"]), linkText(e.Detail["url"], "open in PagerDuty"))))
	case e.Kind == incident.KindReminder:
		fx = append(fx, incident.Effect{Kind: SlackReminder, Payload: map[string]string{"kind": e.Detail["kind"], "due": e.Detail["due"]}})
	case e.Kind == incident.KindNotice:
		fx = append(fx, Post(e.Raw))
	case e.Kind == incident.KindAction && e.Actor == incident.SystemActor && after.Stage != incident.StageClosed:
		verb := "closed"
		if e.Detail["action"] == "reopen" {
			verb = "reopened"
		}
		fx = append(fx, Post(fmt.Sprintf(":arrows_counterclockwise: Action item *AI-%s* was %s in Jira: %s", e.Detail["id"], verb, user(e.Detail["text"]))))
	case e.Kind == incident.KindOnCallAssigned:
		to, was := e.Detail["to"], ""
		if from := e.Detail["from"]; from != "" && from != incident.AlertActor {
			was = fmt.Sprintf(", taking over from <@%s>", from)
		}
		fx = append(fx, Invite(to)...)
		if e.Detail["confirmed"] == "true" {
			fx = append(fx, Post(fmt.Sprintf(":bust_in_silhouette: <@%s> is on call (%s) and stays the *commander* of %s. To hand over: `/incident commander @someone`.", to, e.Detail["source"], after.Ref())))
			break
		}
		fx = append(fx, Post(fmt.Sprintf(":bust_in_silhouette: <@%s> is on call (%s) and is now the *commander* of %s%s. To hand over: `/incident commander @someone`.", to, e.Detail["source"], after.Ref(), was)))
		if a := commanderAnnouncement(after, e.Detail["from"]); a != "" && e.Detail["from"] != incident.AlertActor {
			fx = append(fx, Announce(a))
		}
	}
	if before != nil && before.Open() && !after.Open() && after.OwesFinalUpdate() {
		fx = append(fx, finalUpdatePrompt(after))
	}
	if before != nil && after.ChannelID != "" && e.Kind != "war_room" && before.Stage != incident.StageClosed {
		fx = append(fx, incident.Effect{Kind: SlackRefresh})
		if checklistView(before) != checklistView(after) {
			fx = append(fx, incident.Effect{Kind: SlackChecklist})
		}
	}
	if before != nil && before.Stage != incident.StageClosed && after.Stage == incident.StageClosed {
		fx = append(fx, incident.Effect{Kind: SlackArchive})
	}
	return fx
}

// finalUpdatePrompt asks the communicator (or the commander) for the
// resolved update, with a button that opens its preview: the status page
// says otherwise until it is published, and it stays due until then.
func finalUpdatePrompt(inc *incident.Incident) incident.Effect {
	owner := inc.Communicator
	if owner == "" {
		owner = inc.Commander
	}
	p := Post(fmt.Sprintf(":mega: %s %s is resolved, but the status page still says *%s*. Publish the final update now (`/incident update resolved`); it stays due, with reminders, until it is out (by %s).",
		Mention(owner), inc.Ref(), incident.TitleCaseStatus(inc.PublicStatus), inc.NextUpdateDue.UTC().Format("15:04 UTC")))
	p.Payload["update"] = string(incident.StatusResolved)
	return p
}

func linkText(url, text string) string {
	if url == "" {
		return ""
	}
	return " <" + url + "|" + text + ">"
}

// systemNames are how the outbox's systems are called in the war room.
var systemNames = map[string]string{"ticket": "Jira", "page": "PagerDuty", "oncall": "PagerDuty", "statuspage": "Statuspage"}

// TroubleText is what the war room is told when a system starts failing
// (first) or answers again; "" for Slack itself, which cannot be told
// through Slack (the timeline and `warroom outbox list` show it).
func TroubleText(e incident.Effect, err error, first bool) string {
	name := systemNames[e.System()]
	if name == "" {
		return ""
	}
	if first {
		return fmt.Sprintf(":warning: %s is not answering (%s); retrying. Nothing is lost and the incident goes on: `/incident status` shows what is waiting.", name, clip(oneLine(err.Error()), 160))
	}
	return fmt.Sprintf(":white_check_mark: %s is answering again; what was waiting has been sent.", name)
}

// effectNames say what an outbox item is, for people.
var effectNames = map[string]string{
	SlackRoom: "Slack: create the war room", SlackSummary: "Slack: pin the summary", SlackPost: "Slack: post to the war room",
	SlackAnnounce: "Slack: announcement", SlackInvite: "Slack: invite people", SlackRefresh: "Slack: update the summary",
	SlackReminder: "Slack: update reminder", SlackTell: "Slack: private follow-up", SlackArchive: "Slack: archive the war room", SlackFile: "Slack: upload the postmortem draft",
	SlackChecklist: "Slack: post or update the checklist", SlackCard: "Slack: post the service card",
	incident.KindCaptureFetch: "Slack: fetch a message for the timeline",
	incident.KindTicketSync:   "Jira: update the issue", incident.KindOnCall: "PagerDuty: find who is on call",
	incident.KindPage: "PagerDuty: page", incident.KindPageResolve: "PagerDuty: resolve the pages",
	incident.KindStatusPage: "Statuspage: publish the update", incident.KindActionSync: "Jira: file or update an action item's issue",
	"slack.report": "Slack: post the weekly report",
}

// EffectName says what an outbox item of kind is, for people.
func EffectName(kind string) string {
	if n := effectNames[kind]; n != "" {
		return n
	}
	return kind
}
