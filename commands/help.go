package commands

import (
	"fmt"
	"strings"
)

// Usage describes one subcommand for help and error replies.
type Usage struct {
	Name    string
	Syntax  string
	Summary string
	Example string
}

// Help lists every subcommand, in the order a response uses them.
var Help = []Usage{
	{"declare", "/incident declare [private] [sev1|sev2|sev3|sev4] <title>", "Declare an incident and open its war room. `private`: a private room, never announced or on the status page, visible only to the people in it. With no title, opens a form.", "/incident declare sev2 Checkout returns 500s"},
	{"severity", "/incident severity <sev1|sev2|sev3|sev4>", "Change the severity.", "/incident severity sev1"},
	{"commander", "/incident commander @user", "Name the incident commander (`me` for yourself).", "/incident commander @alice"},
	{"communicator", "/incident communicator @user", "Name who writes the status updates.", "/incident communicator @bob"},
	{"role", "/incident role <name> @user", "Give anyone another role (scribe, ops-lead, ...).", "/incident role scribe @carol"},
	{"status", "/incident status [investigating|identified|monitoring|resolved] [message]", "Set the incident's status and tell the room (internal; `update` is public). Alone, shows the incident's state and what warroom still has to deliver.", "/incident status identified Bad deploy of checkout v42"},
	{"update", "/incident update [investigating|identified|monitoring|resolved] [message]", "Write a public status update from the template, preview it, publish it.", "/incident update identified Failing over to the standby database"},
	{"impact", "/incident impact <who is affected and how>", "Describe the impact in customers' words, for public updates.", "/incident impact failed card payments for some customers"},
	{"components", "/incident components <name>=<operational|degraded_performance|partial_outage|major_outage> ...", "Set the affected components and their status.", "/incident components checkout=partial_outage api=degraded_performance"},
	{"page", "/incident page <service|@user> [message]", "Page a service's on-call or a person through PagerDuty.", "/incident page payments card auth failing"},
	{"note", "/incident note <text>", "Add an internal note to the timeline (never public).", "/incident note Rolled back checkout to v41"},
	{"timeline", "/incident timeline", "Show the timeline (only to you).", "/incident timeline"},
	{"resolve", "/incident resolve [summary]", "Resolve the incident (the commander only); the document stage starts.", "/incident resolve Rollback fixed it"},
	{"reopen", "/incident reopen", "Reopen a resolved incident.", "/incident reopen"},
	{"postmortem", "/incident postmortem", "Write a postmortem draft from the timeline (a new version each time) and upload it to the war room.", "/incident postmortem"},
	{"action", "/incident action add <text> [@owner] [p1|p2|p3] [due:YYYY-MM-DD] · list [all|mine] · done <id> · reopen <id> · assign <id> @user", "Track follow-ups to closure (default p2, due by priority: 7, 30 or 90 days). Done items close their Jira issue too.", "/incident action add Alert on replica lag @alice p1 due:2026-12-15"},
	{"close", "/incident close", "Close a resolved incident when its review is done (the commander only).", "/incident close"},
	{"list", "/incident list [all]", "List open incidents (`all` adds resolved ones).", "/incident list"},
	{"help", "/incident help [command]", "Show help for all commands or one.", "/incident help status"},
}

// aliases maps what people type to subcommand names.
var aliases = func() map[string]string {
	m := map[string]string{"sev": "severity", "ic": "commander", "comms": "communicator", "ls": "list", "?": "help", "component": "components", "pm": "postmortem", "actions": "action", "ai": "action", "followup": "action"}
	for _, h := range Help {
		m[h.Name] = h.Name
	}
	return m
}()

// UsageOf returns the usage of a subcommand, or false.
func UsageOf(name string) (Usage, bool) {
	for _, h := range Help {
		if h.Name == name {
			return h, true
		}
	}
	return Usage{}, false
}

// HelpText is the reply to "/incident help [topic]".
func HelpText(topic string) string {
	if topic != "" {
		name, ok := aliases[topic]
		if !ok {
			return fmt.Sprintf("There is no command `%s`. All commands: `/incident help`.", clip(topic, 40))
		}
		u, _ := UsageOf(name)
		return fmt.Sprintf("*%s* — %s\n`%s`\nExample: `%s`", u.Name, u.Summary, u.Syntax, u.Example)
	}
	var b strings.Builder
	b.WriteString("*warroom commands* — in a war room they act on its incident; elsewhere put the reference first: `/incident INC-7 note ...`\n")
	for _, h := range Help {
		fmt.Fprintf(&b, "• `%s` — %s\n", h.Syntax, h.Summary)
	}
	b.WriteString("More on one command: `/incident help status`")
	return b.String()
}

// usageLine is appended to an error about a known subcommand.
func usageLine(name string) string {
	u, ok := UsageOf(name)
	if !ok {
		return ""
	}
	return fmt.Sprintf("\nUsage: `%s`\nExample: `%s`", u.Syntax, u.Example)
}
