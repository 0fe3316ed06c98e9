package bot

import (
	"regexp"
	"strings"
	"testing"
)

func TestChannelName(t *testing.T) {
	cases := []struct {
		n      int64
		title  string
		suffix int
		want   string
	}{
		{7, "Checkout returns 500s", 0, "inc-7-checkout-returns-500s"},
		{7, "Café Zürich: Straße down!", 0, "inc-7-cafe-zurich-strasse-down"},
		{8, "🔥 Payments 🔥 down", 0, "inc-8-payments-down"},
		{9, "🔥🔥🔥", 0, "inc-9"},
		{10, "הקופה מחזירה שגיאות", 0, "inc-10"},
		{11, "'; DROP TABLE incidents; --", 0, "inc-11-drop-table-incidents"},
		{12, "db_primary failover", 2, "inc-12-db-primary-failover-2"},
		{13, "Ｆｕｌｌｗｉｄｔｈ ＡＰＩ", 0, "inc-13-fullwidth-api"},
	}
	for _, tc := range cases {
		if got := ChannelName(tc.n, tc.title, tc.suffix); got != tc.want {
			t.Errorf("ChannelName(%d, %q, %d) = %q, want %q", tc.n, tc.title, tc.suffix, got, tc.want)
		}
	}
	valid := regexp.MustCompile(`^[a-z0-9_-]{1,80}$`)
	long := strings.Repeat("very long title words ", 30)
	for _, s := range []int{0, 2, 99} {
		got := ChannelName(123456, long, s)
		if !valid.MatchString(got) || strings.HasSuffix(strings.TrimSuffix(got, "-99"), "-") {
			t.Errorf("long name %q is not a valid channel name", got)
		}
	}
}

func FuzzChannelName(f *testing.F) {
	f.Add(int64(1), "Checkout down", 0)
	f.Add(int64(99999), "ǅ ﬁ Ⅻ 🔥 ‮", 3)
	valid := regexp.MustCompile(`^inc-[0-9]+(-[a-z0-9_-]+)?$`)
	f.Fuzz(func(t *testing.T, n int64, title string, suffix int) {
		if n < 1 || n > 1e12 || suffix < 0 || suffix > 1000 {
			return
		}
		got := ChannelName(n, title, suffix)
		if len(got) > MaxChannelName || !valid.MatchString(got) {
			t.Fatalf("ChannelName(%d, %q, %d) = %q", n, title, suffix, got)
		}
	})
}
