package bot

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/warroom/warroom/commands"
	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/internal/mrkdwn"
)

var stageNumber = map[incident.Stage]string{
	incident.StageAssess: "1/4", incident.StageCommunicate: "2/4", incident.StageRespond: "3/4",
	incident.StageDocument: "4/4", incident.StageClosed: "done",
}

// plain and markdown make Block Kit text objects.
func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
}

func markdown(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

// topicText is the war room's topic: severity, status and commander.
func topicText(inc *incident.Incident) string {
	return fmt.Sprintf("%s | %s | commander %s | %s", inc.Severity, strings.ToUpper(string(inc.Status)), commands.Mention(inc.Commander), inc.Ref())
}

// summaryText is the plain-text fallback of the pinned summary.
func summaryText(inc *incident.Incident) string {
	// The title is what someone typed: <!channel> in it must not ping.
	return fmt.Sprintf("%s %s %s — %s, stage %s", inc.Ref(), inc.Severity, mrkdwn.EscapeUser(inc.Title), inc.Status, inc.Stage)
}

// linkNames are how systems are called in the summary.
var linkNames = map[string]string{"jira": "Jira", "statuspage": "Statuspage", "pagerduty": "PagerDuty"}

// summaryBlocks is the pinned summary: title, severity, stage, status,
// roles, elapsed time, the service and the incident's Jira issue and other
// links, and the next step.
func summaryBlocks(inc *incident.Incident, links []incident.Link, now time.Time) []slack.Block {
	header := slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, clipRunes(fmt.Sprintf("%s · %s · %s", inc.Ref(), inc.Severity, inc.Title), 150), true, false))
	declared := fmt.Sprintf("<!date^%d^{date_short_pretty} {time}|%s UTC> by %s", inc.DeclaredAt.Unix(), inc.DeclaredAt.UTC().Format("2006-01-02 15:04"), commands.Mention(inc.DeclaredBy))
	elapsed := commands.FormatDuration(inc.Elapsed(now))
	if inc.Open() {
		elapsed += fmt.Sprintf(" (as of %s UTC)", now.UTC().Format("15:04"))
	} else {
		elapsed += " to resolve"
	}
	fields := []*slack.TextBlockObject{
		markdown("*Stage*\n" + commands.TitleCase(string(inc.Stage)) + " (" + stageNumber[inc.Stage] + ")"),
		markdown("*Status*\n" + commands.TitleCase(string(inc.Status))),
		markdown("*Commander*\n" + commands.Mention(inc.Commander)),
		markdown("*Communicator*\n" + commands.Mention(inc.Communicator)),
		markdown("*Declared*\n" + declared),
		markdown("*Elapsed*\n" + elapsed),
	}
	if done, total := inc.ChecklistProgress(); total > 0 {
		fields = append(fields, markdown(fmt.Sprintf("*Checklist*\n%d/%d done", done, total)))
	}
	switch {
	case inc.OwesFinalUpdate():
		fields = append(fields, markdown(fmt.Sprintf("*Final public update*\nby <!date^%d^{time}|%s UTC> (the page still says %s)", inc.NextUpdateDue.Unix(), inc.NextUpdateDue.UTC().Format("15:04"), incident.TitleCaseStatus(inc.PublicStatus))))
	case !inc.NextUpdateDue.IsZero() && inc.Open():
		fields = append(fields, markdown(fmt.Sprintf("*Next public update*\nby <!date^%d^{time}|%s UTC>", inc.NextUpdateDue.Unix(), inc.NextUpdateDue.UTC().Format("15:04"))))
	}
	blocks := []slack.Block{header, slack.NewSectionBlock(markdown("*"+mrkdwn.EscapeUser(inc.Title)+"*"), fields, nil)}
	if names := inc.RoleNames(); len(names) > 0 {
		var roles []string
		for _, r := range names {
			roles = append(roles, fmt.Sprintf("%s: %s", r, commands.Mention(inc.Roles[r])))
		}
		blocks = append(blocks, slack.NewSectionBlock(markdown("*Other roles* · "+strings.Join(roles, " · ")), nil, nil))
	}
	if names := inc.ComponentNames(); len(names) > 0 {
		var parts []string
		for _, n := range names {
			parts = append(parts, fmt.Sprintf("%s: %s", mrkdwn.EscapeUser(n), strings.ReplaceAll(string(inc.Components[n]), "_", " ")))
		}
		blocks = append(blocks, slack.NewSectionBlock(markdown("*Components* · "+strings.Join(parts, " · ")), nil, nil))
	}
	if inc.Description != "" {
		blocks = append(blocks, slack.NewSectionBlock(markdown(mrkdwn.EscapeUser(clipRunes(inc.Description, 2900))), nil, nil))
	}
	var ext []string
	if inc.Service != "" {
		ext = append(ext, "Service: "+mrkdwn.EscapeUser(inc.Service))
	}
	for _, l := range links {
		name := linkNames[l.System]
		if name == "" {
			name = commands.TitleCase(l.System)
		}
		ref := mrkdwn.EscapeUser(l.Ref)
		if strings.HasPrefix(l.URL, "https://") || strings.HasPrefix(l.URL, "http://") {
			ref = "<" + l.URL + "|" + ref + ">"
		}
		ext = append(ext, name+": "+ref)
	}
	if len(ext) > 0 {
		blocks = append(blocks, slack.NewContextBlock("links", markdown(strings.Join(ext, " · "))))
	}
	blocks = append(blocks, slack.NewContextBlock("next", markdown(":point_right: *Next:* "+mrkdwn.Escape(inc.NextStep()))))
	return blocks
}

// Declare form: block and action IDs, shared by the view and its submission.
const (
	declareCallback = "warroom_declare"
	blockTitle      = "title"
	blockSeverity   = "severity"
	blockDesc       = "description"
	blockService    = "service"
)

type formMeta struct {
	Channel string `json:"channel"`
}

// declareView is the modal /incident declare opens with no title.
func declareView(f commands.DeclareForm) slack.ModalViewRequest {
	title := slack.NewPlainTextInputBlockElement(plain("e.g. Checkout returns 500s"), blockTitle)
	title.MaxLength = incident.MaxTitle
	var opts []*slack.OptionBlockObject
	var initial *slack.OptionBlockObject
	for s := incident.SEV1; s <= incident.SEV4; s++ {
		o := slack.NewOptionBlockObject(strings.ToLower(s.String()), plain(s.String()+" — "+sevHint[s]), nil)
		opts = append(opts, o)
		if s == f.Severity {
			initial = o
		}
	}
	sev := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain("Severity"), blockSeverity, opts...)
	sev.InitialOption = initial
	desc := slack.NewPlainTextInputBlockElement(plain("What do you see? Who is affected?"), blockDesc)
	desc.Multiline = true
	desc.MaxLength = incident.MaxText
	descBlock := slack.NewInputBlock(blockDesc, plain("Description"), nil, desc)
	descBlock.Optional = true
	blocks := []slack.Block{
		slack.NewInputBlock(blockTitle, plain("Title"), nil, title),
		slack.NewInputBlock(blockSeverity, plain("Severity"), nil, sev),
	}
	if len(f.Services) > 0 {
		var sopts []*slack.OptionBlockObject
		for _, name := range f.Services {
			sopts = append(sopts, slack.NewOptionBlockObject(name, plain(clipRunes(name, 75)), nil))
		}
		svc := slack.NewInputBlock(blockService, plain("Service"), plain("Its on-call person will lead the incident."),
			slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain("Affected service"), blockService, sopts...))
		svc.Optional = true
		blocks = append(blocks, svc)
	}
	blocks = append(blocks, descBlock)
	meta, _ := json.Marshal(formMeta{Channel: f.Channel})
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      declareCallback,
		Title:           plain("Declare an incident"),
		Submit:          plain("Declare"),
		Close:           plain("Cancel"),
		PrivateMetadata: string(meta),
		Blocks:          slack.Blocks{BlockSet: blocks},
	}
}

var sevHint = map[incident.Severity]string{
	incident.SEV1: "critical, customers blocked",
	incident.SEV2: "major, many customers affected",
	incident.SEV3: "minor, some customers affected",
	incident.SEV4: "low, little or no impact",
}

// Update preview: block and action IDs shared by the view and its submission.
const (
	updateCallback = "warroom_update"
	blockUpdStatus = "update_status"
	blockUpdTitle  = "update_title"
	blockUpdBody   = "update_body"
)

// updateMeta is what the preview carries back to its submission: the
// incident, the components the communicator was shown (those go out, not
// whatever they are by the time Publish is pressed), and the fingerprint of
// the text whose warnings were shown.
type updateMeta struct {
	Incident   int64                               `json:"incident"`
	Components map[string]incident.ComponentStatus `json:"components,omitempty"`
	Checked    string                              `json:"checked,omitempty"`
	// Seen is the incident's last publication when the preview opened
	// (RFC 3339): an update published since refuses this one.
	Seen string `json:"seen,omitempty"`
}

// componentWords are component statuses as people say them.
var componentWords = map[incident.ComponentStatus]string{
	incident.Operational: "operational", incident.DegradedPerformance: "degraded performance",
	incident.PartialOutage: "partial outage", incident.MajorOutage: "major outage",
}

// updateView is the preview of a public update: the status, the public
// title and the text drafted from the template for the communicator to
// edit, what else goes out with them (impact, components), and the lint's
// warnings.
func updateView(p commands.UpdatePreview) slack.ModalViewRequest {
	var opts []*slack.OptionBlockObject
	var initial *slack.OptionBlockObject
	for _, st := range incident.Statuses {
		o := slack.NewOptionBlockObject(string(st), plain(commands.TitleCase(string(st))), nil)
		opts = append(opts, o)
		if st == p.Status {
			initial = o
		}
	}
	status := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain("Status"), blockUpdStatus, opts...)
	status.InitialOption = initial
	title := slack.NewPlainTextInputBlockElement(plain("What the public calls this incident"), blockUpdTitle)
	title.MaxLength = incident.MaxTitle
	title.InitialValue = p.Title
	body := slack.NewPlainTextInputBlockElement(plain("The public text"), blockUpdBody)
	body.Multiline = true
	body.MaxLength = incident.MaxText
	body.InitialValue = p.Body
	comps := "no components"
	if names := slices.Sorted(maps.Keys(p.Components)); len(names) > 0 {
		var parts []string
		for _, n := range names {
			parts = append(parts, mrkdwn.EscapeUser(n)+": "+componentWords[p.Components[n]])
		}
		comps = strings.Join(parts, " · ")
	}
	blocks := []slack.Block{
		slack.NewContextBlock("where", markdown(fmt.Sprintf("*%s* · %s · goes to the status page, the war room and the announcements channel, exactly as below. Internal notes never do.", p.Incident.Ref(), p.Incident.Severity))),
		slack.NewInputBlock(blockUpdStatus, plain("Status"), nil, status),
		slack.NewInputBlock(blockUpdTitle, plain("Public title"), plain("Shown on the status page. Say what customers see, not the internal cause."), title),
		slack.NewInputBlock(blockUpdBody, plain("Update"), plain("Drafted from the template. Be declarative; no ETAs, no guesses, no names."), body),
		slack.NewSectionBlock(markdown(fmt.Sprintf("*Also published* · impact: %s · components: %s\n_To change them: `/incident components …`, `/incident severity …`, then open a new preview._", p.Impact, comps)), nil, nil),
	}
	if len(p.Warnings) > 0 {
		var lines []string
		for _, w := range p.Warnings {
			quote := ""
			if q := w.Quoted(); q != "" {
				quote = " " + mrkdwn.EscapeUser(q)
			}
			lines = append(lines, fmt.Sprintf("• *%s*%s — %s", strings.ReplaceAll(w.Rule, "_", " "), quote, w.Reason))
		}
		blocks = append(blocks, slack.NewSectionBlock(markdown(":warning: *Check before publishing* (warnings, not blocks; press Publish again to send it as it is):\n"+clipRunes(strings.Join(lines, "\n"), 2800)), nil, nil))
	}
	seen := p.Incident.PublishedAt
	if p.Seen != nil {
		seen = *p.Seen
	}
	meta, _ := json.Marshal(updateMeta{Incident: p.Incident.Number, Components: p.Components, Checked: p.Checked, Seen: seen.Format(time.RFC3339Nano)})
	return slack.ModalViewRequest{
		Type: slack.VTModal, CallbackID: updateCallback, Title: plain("Public update"),
		Submit: plain("Publish"), Close: plain("Cancel"), PrivateMetadata: string(meta),
		Blocks: slack.Blocks{BlockSet: blocks},
	}
}
