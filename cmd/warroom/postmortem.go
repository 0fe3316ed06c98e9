package main

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"

	"github.com/warroom/warroom/commands"
	"github.com/warroom/warroom/incident"
)

// markdown renders drafts as HTML with GitHub's tables; raw HTML in the
// Markdown (a title with <script>, say) is left out, not passed through,
// and links other than http(s) and mailto become plain text. goldmark
// drops javascript: from [text](url) links but not from <scheme:...>
// autolinks, which anyone can type into a note.
var markdown = goldmark.New(goldmark.WithExtensions(extension.GFM),
	goldmark.WithParserOptions(parser.WithASTTransformers(util.Prioritized(safeLinks{}, 999))))

// safeLinks turns links and autolinks whose scheme is not http, https or
// mailto into their text.
type safeLinks struct{}

func (safeLinks) Transform(doc *ast.Document, reader text.Reader, _ parser.Context) {
	src := reader.Source()
	var bad []ast.Node
	ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch l := n.(type) {
		case *ast.AutoLink:
			if !safeURL(string(l.URL(src))) {
				bad = append(bad, n)
			}
		case *ast.Link:
			if !safeURL(string(l.Destination)) {
				bad = append(bad, n)
			}
		case *ast.Image:
			bad = append(bad, n) // drafts link to nothing they would load
		}
		return ast.WalkContinue, nil
	})
	for _, n := range bad {
		label := string(n.Text(src))
		if l, ok := n.(*ast.AutoLink); ok {
			label = string(l.Label(src))
		}
		n.Parent().ReplaceChild(n.Parent(), n, ast.NewString([]byte(label)))
	}
}

func safeURL(u string) bool {
	// Browsers ignore tabs, line breaks and control characters in a
	// scheme ("java\tscript:"), so they are dropped before it is read.
	u = strings.Map(func(r rune) rune {
		if r <= ' ' {
			return -1
		}
		return r
	}, u)
	scheme, _, ok := strings.Cut(strings.ToLower(u), ":")
	if !ok || strings.ContainsAny(scheme, "/?#") {
		return true // relative
	}
	return scheme == "http" || scheme == "https" || scheme == "mailto"
}

var htmlPage = template.Must(template.New("pm").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d1c1d}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ddd;padding:.3rem .5rem;vertical-align:top}
blockquote{border-left:4px solid #ddd;margin:0;padding:0 1rem;color:#444}code{background:#f4f4f4;padding:0 .2rem}</style>
</head><body>{{.Body}}</body></html>
`))

// postmortemHTML renders a draft as a standalone HTML page.
func postmortemHTML(w io.Writer, title, md string) error {
	var body bytes.Buffer
	if err := markdown.Convert([]byte(md), &body); err != nil {
		return err
	}
	return htmlPage.Execute(w, struct {
		Title string
		Body  template.HTML
	}{title, template.HTML(body.String())})
}

// postmortemHandler serves /incidents/INC-7/postmortem.md and .html: the
// latest stored draft.
func postmortemHandler(svc *incident.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		n, ok := incident.ParseRef(r.PathValue("ref"))
		file := r.PathValue("file")
		if !ok || (file != "postmortem.md" && file != "postmortem.html") {
			http.NotFound(w, r)
			return
		}
		// This listener knows nobody's identity, so a private incident's
		// draft is not served here (warroom postmortem, or its war room).
		if inc, err := svc.Get(r.Context(), n); err == nil && inc.Private {
			http.NotFound(w, r)
			return
		}
		pm, err := svc.Postmortem(r.Context(), n, 0)
		if err != nil {
			status := http.StatusInternalServerError
			if incident.ErrorCode(err) == incident.ENotFound {
				status = http.StatusNotFound
			}
			http.Error(w, incident.ErrorMessage(err), status)
			return
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if file == "postmortem.md" {
			w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
			io.WriteString(w, pm.Markdown)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:")
		postmortemHTML(w, fmt.Sprintf("%s postmortem v%d", pm.Ref(), pm.Version), pm.Markdown)
	}
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
		return postmortemHTML(stdout, fmt.Sprintf("%s postmortem", pm.Ref()), pm.Markdown)
	}
	_, err = io.WriteString(stdout, pm.Markdown)
	return err
}
