package mrkdwn

import "testing"

func TestEscape(t *testing.T) {
	cases := []struct{ in, want, user string }{
		{"type `/incident resolve <summary>`", "type `/incident resolve &lt;summary&gt;`", "type `/incident resolve &lt;summary&gt;`"},
		{"<@U123> and <@U9|bob> in <#C1>", "<@U123> and <@U9|bob> in <#C1>", "<@U123> and <@U9|bob> in <#C1>"},
		{"<!channel> look", "<!channel> look", "&lt;!channel&gt; look"},
		{"<!date^1700000000^{time}|10:00>", "<!date^1700000000^{time}|10:00>", "&lt;!date^1700000000^{time}|10:00&gt;"},
		{"R&D > QA &amp; ops", "R&amp;D &gt; QA &amp; ops", "R&amp;D &gt; QA &amp; ops"},
		{"see <https://x.example/a|runbook>", "see <https://x.example/a|runbook>", "see &lt;https://x.example/a|runbook&gt;"},
		{"a < b", "a &lt; b", "a &lt; b"},
		{"<@u1>", "&lt;@u1&gt;", "&lt;@u1&gt;"},
	}
	for _, c := range cases {
		if got := Escape(c.in); got != c.want {
			t.Errorf("Escape(%q) = %q, want %q", c.in, got, c.want)
		}
		if got := EscapeUser(c.in); got != c.user {
			t.Errorf("EscapeUser(%q) = %q, want %q", c.in, got, c.user)
		}
	}
	if got := Unescape("A &lt; B &amp;&gt;"); got != "A < B &>" {
		t.Errorf("Unescape: %q", got)
	}
}

func TestReadable(t *testing.T) {
	names := map[string]string{"U1": "alice"}
	name := func(id string) string { return names[id] }
	for in, want := range map[string]string{
		"Only the commander (<@U1>) can resolve": "Only the commander (@alice) can resolve",
		"ask <@U2|bob> in <#C9|general>":         "ask @bob in #general",
		"<@W3> and <!here>":                      "@W3 and @here",
		"see <https://x.example/a|the runbook>":  "see the runbook (https://x.example/a)",
		"a < b and c > d":                        "a < b and c > d",
	} {
		if got := Readable(in, name); got != want {
			t.Errorf("Readable(%q) = %q, want %q", in, got, want)
		}
	}
}
