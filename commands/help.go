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

// helpSpec is /incident help. Dispatcher.run answers it: it lists every spec.
func helpSpec() *spec {
	return &spec{
		Usage:   Usage{"help", "/incident help [command]", "Show help for all commands or one.", "/incident help status"},
		aliases: []string{"?"},
		parse: func(c *Command, rest, _ string) error {
			c.Text = strings.ToLower(strings.TrimSpace(rest))
			return nil
		},
		scope: anywhere,
	}
}

// Help lists every subcommand, in the order a response uses them.
func Help() []Usage {
	specs, _ := commandTable()
	out := make([]Usage, len(specs))
	for i, s := range specs {
		out[i] = s.Usage
	}
	return out
}

// UsageOf returns the usage of a subcommand, or false.
func UsageOf(name string) (Usage, bool) {
	if s, ok := lookup(name); ok && s.Name == name {
		return s.Usage, true
	}
	return Usage{}, false
}

// HelpText is the reply to "/incident help [topic]".
func HelpText(topic string) string {
	if topic != "" {
		s, ok := lookup(topic)
		if !ok {
			return fmt.Sprintf("There is no command `%s`. All commands: `/incident help`.", clip(topic, 40))
		}
		return fmt.Sprintf("*%s* — %s\n`%s`\nExample: `%s`", s.Name, s.Summary, s.Syntax, s.Example)
	}
	var b strings.Builder
	b.WriteString("*warroom commands* — in a war room they act on its incident; elsewhere put the reference first: `/incident INC-7 note ...`\n")
	specs, _ := commandTable()
	for _, s := range specs {
		fmt.Fprintf(&b, "• `%s` — %s\n", s.Syntax, s.Summary)
	}
	b.WriteString("To put a message into the timeline: react to it with :pushpin: (or pin it) in the war room, or use the message shortcut *Add to incident timeline* anywhere.\n")
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
