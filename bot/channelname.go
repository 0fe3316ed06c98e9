package bot

import (
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// MaxChannelName is Slack's limit on channel names.
const MaxChannelName = 80

// foldAccents turns "café" into "cafe": decompose, then drop the marks. A
// transformer holds state, so each call gets its own.
func foldAccents() transform.Transformer {
	return transform.Chain(norm.NFKD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
}

// ChannelName is the war room's name: inc-<n>-<slug>, lowercase, only
// a-z 0-9 - and _, at most 80 characters. Accents are folded; emoji and
// scripts with no Latin form are dropped, leaving inc-<n> if nothing is left.
// suffix > 1 appends "-<suffix>" for a name already taken.
func ChannelName(n int64, title string, suffix int) string {
	folded, _, err := transform.String(foldAccents(), strings.ToLower(title))
	if err != nil {
		folded = strings.ToLower(title)
	}
	var b strings.Builder
	dash := false
	for _, r := range folded {
		switch {
		case r == 'ß':
			b.WriteString("ss")
			dash = false
		case r == 'ø':
			b.WriteByte('o')
			dash = false
		case r == 'æ':
			b.WriteString("ae")
			dash = false
		case (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9'):
			b.WriteRune(r)
			dash = false
		default:
			if !dash && b.Len() > 0 {
				b.WriteByte('-')
				dash = true
			}
		}
	}
	slug := strings.Trim(b.String(), "-")
	prefix := "inc-" + strconv.FormatInt(n, 10)
	tail := ""
	if suffix > 1 {
		tail = "-" + strconv.Itoa(suffix)
	}
	room := MaxChannelName - len(prefix) - len(tail) - 1
	if len(slug) > room {
		slug = slug[:room]
		if i := strings.LastIndexByte(slug, '-'); i > room/2 {
			slug = slug[:i]
		}
		slug = strings.Trim(slug, "-")
	}
	if slug == "" || room <= 0 {
		return prefix + tail
	}
	return prefix + "-" + slug + tail
}
