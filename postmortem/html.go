package postmortem

// The draft as HTML, for reading in a browser: rendered once, when the
// draft is written, and stored beside its Markdown.

import (
	"bytes"
	"html/template"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
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

// HTML renders a draft as a standalone HTML page. Raw HTML in the Markdown
// is left out and only http(s) and mailto links stay links.
func HTML(title, md string) (string, error) {
	var body bytes.Buffer
	if err := markdown.Convert([]byte(md), &body); err != nil {
		return "", err
	}
	var page strings.Builder
	err := htmlPage.Execute(&page, struct {
		Title string
		Body  template.HTML
	}{title, template.HTML(body.String())})
	return page.String(), err
}
