package incident_test

import (
	"context"
	"strings"
	"testing"

	"github.com/warroom/warroom/incident"
)

// A message is captured once; a file's title cannot add a file of its own
// (the stored list splits on tabs and lines); taking it out and an edit
// are entries; an ask expires so Slack failing for long lets it be asked
// again.
func TestCaptureRules(t *testing.T) {
	ctx := context.Background()
	svc, st, _, inc := setup(t)
	svc.Enable(incident.KindCaptureFetch)
	n := inc.Number
	ask := incident.CaptureRequest{Channel: "C1", TS: "1.1", Via: "reaction"}
	if _, err := svc.RequestCapture(ctx, n, cmd("bob", "capture"), ask); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.RequestCapture(ctx, n, cmd("carol", "capture"), ask); incident.ErrorCode(err) != incident.EConflict {
		t.Errorf("a second ask: %v", err)
	}
	var fetch incident.Effect
	for _, e := range st.effects {
		if e.Kind == incident.KindCaptureFetch {
			fetch = e
		}
	}
	if fetch.NotAfter.Sub(fetch.Created) != incident.CaptureFor {
		t.Errorf("the fetch does not expire after %v: %+v", incident.CaptureFor, fetch)
	}
	m := incident.Message{Channel: "C1", TS: "1.1", Author: "U01BOB", Text: "p99 up",
		Files: []incident.NamedLink{{Name: "evil\thttps://evil.example/phish\nreal", URL: "https://files.example/a"}}}
	if ok, err := svc.Capture(ctx, n, m, "reaction", "bob", ""); !ok || err != nil {
		t.Fatalf("capture: %v %v", ok, err)
	}
	if ok, _ := svc.Capture(ctx, n, m, "reaction", "bob", ""); ok {
		t.Error("captured twice")
	}
	last := st.entries[len(st.entries)-1]
	if files := strings.Split(last.Detail["files"], "\n"); len(files) != 1 || !strings.HasSuffix(files[0], "\thttps://files.example/a") {
		t.Errorf("a file's title added a file: %q", last.Detail["files"])
	}
	if err := svc.MessageChanged(ctx, "C1", "1.1", "U01BOB", "p99 up", "p99 up 40%", false); err != nil {
		t.Fatal(err)
	}
	if e := st.entries[len(st.entries)-1]; e.Detail["change"] != "edit" || e.Detail["was"] != "p99 up" {
		t.Errorf("edit: %+v", e)
	}
	if _, err := svc.Uncapture(ctx, n, cmd("bob", "capture"), "C1", "1.1"); err != nil {
		t.Fatal(err)
	}
	// A message Slack would not give may be asked for again.
	ask.TS = "2.2"
	svc.RequestCapture(ctx, n, cmd("bob", "capture"), ask)
	if err := svc.CaptureFailed(ctx, n, "C1", "2.2", "internal_error"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.RequestCapture(ctx, n, cmd("bob", "capture"), ask); err != nil {
		t.Errorf("asked again after a failure: %v", err)
	}
	if _, err := svc.RequestCapture(ctx, n, cmd("bob", "capture"), incident.CaptureRequest{Via: "shortcut"}); incident.ErrorCode(err) != incident.EInvalid {
		t.Errorf("an ask naming no message: %v", err)
	}
}
