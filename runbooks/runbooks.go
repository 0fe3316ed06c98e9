// Package runbooks writes a team's checklists and service cards as static
// HTML: plain files, with no JavaScript and nothing loaded from elsewhere,
// to keep where they survive an outage of the primary infrastructure (a
// laptop, an object store in another cloud, a printed copy). It reads the
// domain's types and nothing else of warroom's.
package runbooks

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/warroom/warroom/incident"
)

//go:embed page.html.tmpl
var files embed.FS

var page = template.Must(template.New("page.html.tmpl").Funcs(template.FuncMap{
	"title": func(s incident.Stage) string {
		if s == "" {
			return ""
		}
		return strings.ToUpper(string(s[:1])) + string(s[1:])
	},
	"date":        func(t time.Time) string { return t.UTC().Format("2 Jan 2006") },
	"servicefile": ServiceFile,
}).ParseFS(files, "page.html.tmpl"))

// Service is one service as the export shows it: its card, the severity
// its alerts declare, and its recent incidents (public ones only).
type Service struct {
	Card     incident.ServiceCard
	Severity incident.Severity
	Recent   []*incident.Incident
}

// Book is everything exported.
type Book struct {
	Title      string
	Checklists incident.Checklists
	Services   []Service
	Generated  time.Time
}

// list is one checklist page: its name and steps by stage.
type list struct {
	Name, File, About string
	Stages            []stage
	Count             int
	// Numbered lists are numbered as an incident numbers its steps (the
	// service page's whole list); a list on its own is not, since its
	// steps take other numbers once merged.
	Numbered bool
}

type stage struct {
	Stage incident.Stage
	Steps []step
}

type step struct {
	N int
	incident.ChecklistItem
}

// view is what a page's template sees.
type view struct {
	Book     Book
	Lists    []list
	List     *list
	Service  *Service
	Merged   *list // the service's incidents' whole checklist
	Page     string
	Services []Service
}

var unsafeName = regexp.MustCompile(`[^a-z0-9_-]+`)

// fileName is a list's or service's page: lower case, safe in any file system.
func fileName(kind, name string) string {
	return kind + "-" + strings.Trim(unsafeName.ReplaceAllString(strings.ToLower(name), "-"), "-") + ".html"
}

func makeList(name, file, about string, items []incident.ChecklistItem) list {
	l := list{Name: name, File: file, About: about, Count: len(items)}
	for _, s := range []incident.Stage{incident.StageAssess, incident.StageCommunicate, incident.StageRespond, incident.StageDocument} {
		g := stage{Stage: s}
		for i, it := range items {
			if it.Stage == s {
				g.Steps = append(g.Steps, step{N: i + 1, ChecklistItem: it})
			}
		}
		if len(g.Steps) > 0 {
			l.Stages = append(l.Stages, g)
		}
	}
	return l
}

// Pages renders the book: index.html, a page per checklist and a page per
// service, by file name.
func Pages(b Book) (map[string][]byte, error) {
	var lists []list
	if len(b.Checklists.Default) > 0 {
		lists = append(lists, makeList("Every incident", "checklist-default.html", "Loaded into every incident at declare.", b.Checklists.Default))
	}
	for sev := incident.SEV1; sev <= incident.SEV4; sev++ {
		if items := b.Checklists.Severity[sev]; len(items) > 0 {
			lists = append(lists, makeList(sev.String(), fileName("checklist", sev.String()), fmt.Sprintf("Added to every %s incident, after the list for every incident.", sev), items))
		}
	}
	names := make([]string, 0, len(b.Checklists.Service))
	for name := range b.Checklists.Service {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		lists = append(lists, makeList("Service "+name, fileName("checklist-service", name), "Added to incidents of "+name+", after the lists for every incident and for the severity.", b.Checklists.Service[name]))
	}
	out := map[string][]byte{}
	whose := map[string]string{} // file name -> what it is for
	render := func(file string, v view) error {
		what := "the index"
		switch {
		case v.List != nil:
			what = "the list " + v.List.Name
		case v.Service != nil:
			what = "the service " + v.Service.Card.Name
		}
		if other, taken := whose[file]; taken {
			return fmt.Errorf("runbooks: %s and %s would both be written to %s; rename one", other, what, file)
		}
		whose[file] = what
		v.Book, v.Lists, v.Page, v.Services = b, lists, file, b.Services
		var buf bytes.Buffer
		if err := page.Execute(&buf, v); err != nil {
			return fmt.Errorf("runbooks: %s: %w", file, err)
		}
		out[file] = buf.Bytes()
		return nil
	}
	if err := render("index.html", view{}); err != nil {
		return nil, err
	}
	for i := range lists {
		if err := render(lists[i].File, view{List: &lists[i]}); err != nil {
			return nil, err
		}
	}
	for i := range b.Services {
		s := &b.Services[i]
		sev := s.Severity
		if !sev.Valid() {
			sev = incident.DefaultSeverity
		}
		merged := makeList(s.Card.Name+" at "+sev.String(), "", "", incident.InStageOrder(b.Checklists.For(sev, s.Card.Name)))
		merged.Numbered = true
		if err := render(fileName("service", s.Card.Name), view{Service: s, Merged: &merged}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Export writes the book's pages under dir, each replaced whole.
func Export(b Book, dir string) ([]string, error) {
	pages, err := Pages(b)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var written []string
	for name, body := range pages {
		full := filepath.Join(dir, name)
		if err := os.WriteFile(full+".tmp", body, 0o644); err != nil {
			return nil, err
		}
		if err := os.Rename(full+".tmp", full); err != nil {
			return nil, err
		}
		written = append(written, name)
	}
	sort.Strings(written)
	return written, nil
}

// ServiceFile is the name of a service's page, for links.
func ServiceFile(name string) string { return fileName("service", name) }
