package main

import (
	"fmt"
	"strings"
	"testing"
)

// TestHugeRejectedCommandIsClipped: a 900 KB command, refused, is kept in
// the timeline (which cannot be edited or deleted) as its first 4 KB and
// its size, not in full.
func TestHugeRejectedCommandIsClipped(t *testing.T) {
	w := start(t, "http")
	w.cmd("alice", w.general, "declare sev3 Search is slow")
	room := w.room("INC-1")
	huge := strings.Repeat("x", 900_000)
	if r := w.cmd("alice", room.ID, "note "+huge); !strings.Contains(r, "The note is 900000 characters; the limit is 3000") {
		t.Fatalf("reply: %.200q", r)
	}
	var rejected *entryJSON
	for _, e := range w.show("INC-1").Timeline {
		if e.Kind == "note" {
			rejected = &e
		}
	}
	if rejected == nil || len(rejected.Raw) > 4200 || !strings.Contains(rejected.Raw, "[900005 bytes in all]") || rejected.Detail["raw_bytes"] != "900005" {
		t.Fatalf("stored: %d bytes, detail %v", len(rejected.Raw), rejected.Detail)
	}
}

// TestTimelinePagesBack: /incident timeline shows the latest entries and
// how to page back, reading only those; paging back reaches the start.
func TestTimelinePagesBack(t *testing.T) {
	w := start(t, "http")
	w.cmd("alice", w.general, "declare sev3 Search is slow")
	room := w.room("INC-1")
	for i := range 70 {
		w.cmd("alice", room.ID, fmt.Sprintf("note step %02d", i))
	}
	r := w.cmd("bob", room.ID, "timeline")
	if !strings.Contains(r, "step 69") || strings.Contains(r, "step 38") || !strings.Contains(r, "Earlier: `/incident INC-1 timeline before ") {
		t.Fatalf("the latest page: %s", r)
	}
	seen, pages := map[string]bool{}, 0
	for ; pages < 10; pages++ {
		for i := range 70 {
			if strings.Contains(r, fmt.Sprintf("step %02d", i)) {
				seen[fmt.Sprint(i)] = true
			}
		}
		i := strings.Index(r, "timeline before ")
		if i < 0 {
			break
		}
		var before int
		fmt.Sscanf(r[i+len("timeline before "):], "%d", &before)
		r = w.cmd("bob", w.general, fmt.Sprintf("INC-1 timeline before %d", before))
	}
	if len(seen) != 70 || !strings.Contains(r, "declare") {
		t.Errorf("paging back saw %d of 70 notes in %d pages, ending: %.300s", len(seen), pages, r)
	}
}
