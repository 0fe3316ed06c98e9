package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/warroom/warroom/commands"
	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/postmortem"
)

// postmortemHandler serves /incidents/INC-7/postmortem.md and .html on the
// internal listener: the latest stored draft, from the bytes stored when it
// was written. A draft from before warroom stored its HTML is rendered once,
// one at a time, and kept.
func postmortemHandler(svc *incident.Service) http.HandlerFunc {
	legacy := &renderedDrafts{html: map[string]string{}}
	return func(w http.ResponseWriter, r *http.Request) {
		n, ok := incident.ParseRef(r.PathValue("ref"))
		file := r.PathValue("file")
		if !ok || (file != "postmortem.md" && file != "postmortem.html") {
			http.NotFound(w, r)
			return
		}
		// This listener knows nobody's identity, so a private incident's
		// draft is not served here (warroom postmortem, or its war room).
		// Private and missing get the same answer: nothing tells them apart.
		if inc, err := svc.Get(r.Context(), n); err == nil && inc.Private {
			http.Error(w, noDraft(n), http.StatusNotFound)
			return
		}
		pm, err := svc.Postmortem(r.Context(), n, 0)
		if err != nil {
			if incident.ErrorCode(err) == incident.ENotFound {
				http.Error(w, noDraft(n), http.StatusNotFound)
				return
			}
			http.Error(w, "the draft could not be read", http.StatusInternalServerError)
			return
		}
		if file == "postmortem.md" {
			w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
			io.WriteString(w, pm.Markdown)
			return
		}
		page := pm.HTML
		if page == "" {
			if page, err = legacy.render(pm); err != nil {
				http.Error(w, "the draft could not be rendered", http.StatusInternalServerError)
				return
			}
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; frame-ancestors 'none'")
		io.WriteString(w, page)
	}
}

// noDraft is the answer for an incident with no draft this listener serves.
func noDraft(n int64) string {
	return fmt.Sprintf("%s has no postmortem draft here. Drafts are written in the war room: /incident postmortem", incident.Ref(n))
}

// renderedDrafts renders drafts stored without their HTML, one at a time,
// and keeps the newest few, so readers cannot make the server render a
// large draft many times at once.
type renderedDrafts struct {
	mu    sync.Mutex
	html  map[string]string
	order []string
}

func (d *renderedDrafts) render(pm incident.Postmortem) (string, error) {
	key := fmt.Sprintf("%d/%d", pm.Incident, pm.Version)
	d.mu.Lock()
	defer d.mu.Unlock()
	if page, ok := d.html[key]; ok {
		return page, nil
	}
	page, err := postmortem.HTML(fmt.Sprintf("%s postmortem v%d", pm.Ref(), pm.Version), pm.Markdown)
	if err != nil {
		return "", err
	}
	if len(d.order) == 16 {
		delete(d.html, d.order[0])
		d.order = d.order[1:]
	}
	d.html[key], d.order = page, append(d.order, key)
	return page, nil
}

// postmortemCmd prints an incident's latest postmortem draft (or the
// version asked for); with none stored, it writes one from the record
// without storing it.
func postmortemCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	const usage = "usage: warroom postmortem INC-7 [--format markdown|html] [--version N]   (7 alone works too)"
	var c Config
	fs := newFlagSet("postmortem", &c, getenv, stderr, "db", "templates")
	format := fs.String("format", "markdown", "markdown or html")
	version := fs.Int("version", 0, "which version (default: the latest)")
	var ref string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		ref, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	n, ok := incident.ParseRef(ref)
	if !ok || (*format != "markdown" && *format != "html") {
		return usageError(usage)
	}
	s, problems := c.check()
	if len(problems) > 0 {
		return problems[0]
	}
	db, err := openExisting(ctx, c.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	svc := incident.NewService(db, nil)
	pm, err := svc.Postmortem(ctx, n, *version)
	if incident.ErrorCode(err) == incident.ENotFound && *version == 0 {
		if _, gerr := svc.Get(ctx, n); gerr != nil {
			return cliError(gerr, n)
		}
		fmt.Fprintf(stderr, "%s has no stored draft; this one is written now from the timeline and not stored. (Drafts are stored when the incident resolves, with WARROOM_POSTMORTEM_ON_RESOLVE, or when someone types /incident postmortem in its war room.)\n", incident.Ref(n))
		disp := &commands.Dispatcher{Service: svc, Postmortems: s.postmortems, Names: func(ctx context.Context, ids []string) map[string]string {
			known, _ := svc.Names(ctx, ids)
			return known
		}}
		md, werr := disp.DraftPostmortem(ctx, n)
		if werr != nil {
			return werr
		}
		pm, err = incident.Postmortem{Incident: n, Markdown: md}, nil
	}
	if err != nil {
		return cliError(err, n)
	}
	if *format == "html" {
		page := pm.HTML
		if page == "" {
			if page, err = postmortem.HTML(fmt.Sprintf("%s postmortem", pm.Ref()), pm.Markdown); err != nil {
				return err
			}
		}
		_, err = io.WriteString(stdout, page)
		return err
	}
	_, err = io.WriteString(stdout, pm.Markdown)
	return err
}
