// Package mrkdwn escapes text for Slack's message format, where &, < and >
// are control characters and <@U123>, <#C123>, <!here> and <https://...>
// are tokens. It imports nothing of warroom's.
package mrkdwn

import (
	"regexp"
	"strings"
)

var (
	token  = regexp.MustCompile(`^<(?:[@#][A-Z0-9]+(?:\|[^<>]*)?|![a-z^][^<>]*|(?:https?|mailto):[^<>\s]+(?:\|[^<>]*)?)>`)
	person = regexp.MustCompile(`^<(?:[@#][A-Z0-9]+(?:\|[^<>]*)?)>`)
	entity = regexp.MustCompile(`^&(?:amp|lt|gt);`)
)

// Escape makes text safe to send while keeping Slack's tokens (mentions,
// channel links, dates, URLs) working: any other <, > and & is escaped.
// Use it on text warroom writes, such as help with <placeholders>.
func Escape(s string) string { return escape(s, token) }

// EscapeUser escapes text a person typed, keeping only mentions of people
// and channels: a note cannot make the bot ping @channel or @here.
func EscapeUser(s string) string { return escape(s, person) }

func escape(s string, keep *regexp.Regexp) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		switch s[i] {
		case '<':
			if m := keep.FindString(s[i:]); m != "" {
				b.WriteString(m)
				i += len(m)
				continue
			}
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			if m := entity.FindString(s[i:]); m != "" {
				b.WriteString(m)
				i += len(m)
				continue
			}
			b.WriteString("&amp;")
		default:
			b.WriteByte(s[i])
		}
		i++
	}
	return b.String()
}

// Unescape turns Slack's &lt; &gt; &amp; back into characters, for text
// that arrives from Slack (a slash command's text is escaped).
func Unescape(s string) string {
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}

var anyToken = regexp.MustCompile(`<([@#!]?)([^<>|]+)(?:\|([^<>]*))?>`)

// Readable turns Slack's tokens into what a person reads in a document or a
// terminal: <@U1|bob> and <@U1> become @ and the name that name gives for
// the ID (else the label, else the ID), <#C1|general> #general, <!here>
// @here, and <https://x|label> "label (https://x)". Other text is kept.
func Readable(s string, name func(id string) string) string {
	if !strings.Contains(s, "<") {
		return s
	}
	return anyToken.ReplaceAllStringFunc(s, func(tok string) string {
		m := anyToken.FindStringSubmatch(tok)
		sigil, target, label := m[1], m[2], m[3]
		switch sigil {
		case "@":
			if n := name(target); n != "" {
				return "@" + n
			}
			if label != "" {
				return "@" + label
			}
			return "@" + target
		case "#":
			if label != "" {
				return "#" + label
			}
			return "#" + target
		case "!":
			if label != "" {
				return label
			}
			t, _, _ := strings.Cut(target, "^")
			return "@" + t
		}
		if strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://") || strings.HasPrefix(target, "mailto:") {
			if label != "" && label != target {
				return label + " (" + target + ")"
			}
			return target
		}
		return tok
	})
}
