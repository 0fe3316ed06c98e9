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
