package statuspage

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/gorilla/feeds"

	"github.com/warroom/warroom/incident"
)

//go:embed page.html.tmpl
var pageSource string

type pairT struct {
	S *Snapshot
	I Incident
}

func (p *Page) template() *template.Template {
	loc := p.cfg.Location
	return template.Must(template.New("page").Funcs(template.FuncMap{
		"pair":        func(s *Snapshot, i Incident) pairT { return pairT{s, i} },
		"stamp":       func(t time.Time) string { return t.In(loc).Format("Jan 2, 15:04 MST") },
		"iso":         func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"ago":         Ago,
		"tz":          func() string { return tzName(loc) },
		"historyDays": func() int { return HistoryDays },
		"shown":       func(h []Incident) []Incident { return h[:min(len(h), HistoryShown)] },
		"more":        func(h []Incident) int { return max(len(h)-HistoryShown, 0) },
		"statusText":  func(s incident.ComponentStatus) string { return statusText[s] },
	}).Parse(pageSource))
}

var statusText = map[incident.ComponentStatus]string{
	incident.Operational: "Operational", incident.DegradedPerformance: "Degraded performance",
	incident.PartialOutage: "Partial outage", incident.MajorOutage: "Major outage",
}

// HTML renders the page.
func (p *Page) HTML(s *Snapshot) ([]byte, error) {
	var buf bytes.Buffer
	if err := p.template().Execute(&buf, s); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Atom renders the feed of public updates, newest first.
func (p *Page) Atom(s *Snapshot) ([]byte, error) {
	base := strings.TrimSuffix(p.cfg.URL, "/")
	f := &feeds.Feed{Title: p.cfg.Title + ": incident updates", Link: &feeds.Link{Href: base + "/"},
		Id: base + "/history.atom", Updated: s.UpdatedAt, Description: "Every public update, as published."}
	for _, pi := range append(append([]Incident(nil), s.Active...), s.History...) {
		for _, u := range pi.Updates {
			f.Add(&feeds.Item{
				Title:   fmt.Sprintf("%s: %s", firstNonEmpty(u.Title, pi.Name), u.Status),
				Link:    &feeds.Link{Href: fmt.Sprintf("%s/#inc-%d", base, pi.Number)},
				Id:      fmt.Sprintf("%s/#inc-%d-%d", base, pi.Number, u.ID),
				Updated: u.At, Created: u.At, Content: u.Body, Description: u.Body,
			})
		}
	}
	sort.SliceStable(f.Items, func(i, j int) bool { return f.Items[i].Updated.After(f.Items[j].Updated) })
	var buf bytes.Buffer
	if err := f.WriteAtom(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// JSON is everything published, as one document: what --watch compares to
// see whether anything changed.
func (p *Page) JSON(s *Snapshot) ([]byte, error) { return p.render(s, "api/v2/incidents.json") }

// Paths lists what the page serves.
var Paths = []string{"index.html", "history.atom", "api/v2/summary.json", "api/v2/incidents.json"}

// render renders one path of the snapshot.
func (p *Page) render(s *Snapshot, path string) ([]byte, error) {
	switch path {
	case "index.html":
		return p.HTML(s)
	case "history.atom":
		return p.Atom(s)
	case "api/v2/summary.json":
		return json.MarshalIndent(s.Summary(), "", "  ")
	case "api/v2/incidents.json":
		return json.MarshalIndent(s.Incidents(), "", "  ")
	}
	return nil, fmt.Errorf("statuspage: no page %q", path)
}

// files renders everything the page serves, by path, from one snapshot.
func (p *Page) files(ctx context.Context) (map[string][]byte, error) {
	s, err := p.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, path := range Paths {
		if out[path], err = p.render(s, path); err != nil {
			return nil, err
		}
	}
	return out, nil
}

var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8", ".atom": "application/atom+xml; charset=utf-8", ".json": "application/json",
}

// ServeHTTP serves the page, its JSON and its feed, read-only.
func (p *Page) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/")
	if path == "" {
		path = "index.html"
	}
	if !slices.Contains(Paths, path) {
		http.NotFound(w, r)
		return
	}
	s, err := p.Snapshot(r.Context())
	var body []byte
	if err == nil {
		body, err = p.render(s, path)
	}
	p.mu.Lock()
	if err == nil {
		if p.last == nil {
			p.last = map[string][]byte{}
		}
		p.last[path] = body
	} else if last, ok := p.last[path]; ok {
		// The database is unreachable: the page as last rendered (it
		// holds only what was published), rather than an error page.
		body, err = last, nil
	}
	p.mu.Unlock()
	if err != nil {
		http.Error(w, "status temporarily unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", contentTypes[filepath.Ext(path)])
	w.Header().Set("Cache-Control", "public, max-age=30")
	w.Header().Set("Access-Control-Allow-Origin", "*") // widgets on other sites read the JSON
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Write(body)
}

// Export writes the page as static files under dir, for hosting away from
// the primary infrastructure (an object store, GitHub Pages).
func (p *Page) Export(ctx context.Context, dir string) error {
	files, err := p.files(ctx)
	if err != nil {
		return err
	}
	for path, body := range files {
		full := filepath.Join(dir, filepath.FromSlash(path))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		tmp := full + ".tmp"
		if err := os.WriteFile(tmp, body, 0o644); err != nil {
			return err
		}
		if err := os.Rename(tmp, full); err != nil {
			return err
		}
	}
	return nil
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
