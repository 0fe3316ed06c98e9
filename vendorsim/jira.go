package vendorsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/warroom/warroom/internal/localonly"
)

// JiraIssue is an issue the fake holds.
type JiraIssue struct {
	Key, Summary, Description, Type, Status string
	Labels                                  []string
	Updates                                 int       // edits after creation
	Links                                   []string  // keys of the issues linked to it ("Relates")
	Updated                                 time.Time // last change
}

// Jira is a fake Jira Cloud site with one project.
type Jira struct {
	Faults
	srv                  *httptest.Server
	user, token, project string

	mu       sync.Mutex
	issues   []*JiraIssue
	requests int
}

// NewJira starts a fake Jira site for project, accepting user and token.
func NewJira(user, token, project string) *Jira {
	j := &Jira{user: user, token: token, project: project}
	j.srv = httptest.NewServer(localonly.Handler(http.HandlerFunc(j.serve)))
	return j
}

// URL is the site's base URL.
func (j *Jira) URL() string { return j.srv.URL }

// Close stops the server.
func (j *Jira) Close() { j.srv.Close() }

// Issues returns copies of the issues.
func (j *Jira) Issues() []JiraIssue {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []JiraIssue
	for _, i := range j.issues {
		c := *i
		c.Labels = append([]string(nil), i.Labels...)
		c.Links = append([]string(nil), i.Links...)
		out = append(out, c)
	}
	return out
}

// Requests counts the requests that got a real answer.
func (j *Jira) Requests() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.requests
}

var (
	issuePath = regexp.MustCompile(`^/rest/api/2/issue/([A-Z][A-Z0-9]*-\d+)(/transitions)?$`)
	labelJQL  = regexp.MustCompile(`labels = "([^"]+)"`)
	keysJQL   = regexp.MustCompile(`key in \(([^)]*)\)`)
)

// SetStatus moves an issue as a person would in Jira's own UI: "Done"
// closes it, anything else reopens it.
func (j *Jira) SetStatus(key, status string) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	i := j.find(key)
	if i == nil {
		return false
	}
	i.Status, i.Updated = status, time.Now()
	return true
}

func (i *JiraIssue) searchFields() map[string]any {
	cat := "new"
	if i.Status == "Done" {
		cat = "done"
	}
	return map[string]any{"summary": i.Summary, "updated": i.Updated.Format("2006-01-02T15:04:05.000-0700"),
		"status": map[string]any{"name": i.Status, "statusCategory": map[string]any{"key": cat, "name": i.Status}}}
}

func (j *Jira) find(key string) *JiraIssue {
	for _, i := range j.issues {
		if i.Key == key {
			return i
		}
	}
	return nil
}

func jiraErr(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"errorMessages": []string{msg}, "errors": map[string]string{}})
}

func (j *Jira) serve(w http.ResponseWriter, r *http.Request) {
	if j.intercept(w, r) {
		return
	}
	if u, p, ok := r.BasicAuth(); !ok || u != j.user || p != j.token {
		jiraErr(w, 401, "Client must be authenticated to access this resource.")
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.requests++
	m := issuePath.FindStringSubmatch(r.URL.Path)
	switch {
	case r.Method == "GET" && r.URL.Path == "/rest/api/2/project/"+j.project:
		writeJSON(w, 200, map[string]any{"id": "10000", "key": j.project, "name": "Incidents"})
	case r.Method == "GET" && strings.HasPrefix(r.URL.Path, "/rest/api/2/project/"):
		jiraErr(w, 404, "No project could be found with key '"+strings.TrimPrefix(r.URL.Path, "/rest/api/2/project/")+"'.")
	case r.Method == "GET" && r.URL.Path == "/rest/api/2/search":
		var out []any
		jql := r.URL.Query().Get("jql")
		if lm := labelJQL.FindStringSubmatch(jql); lm != nil {
			for _, i := range j.issues {
				if contains(i.Labels, lm[1]) {
					out = append(out, map[string]any{"id": i.Key, "key": i.Key, "fields": i.searchFields()})
				}
			}
		} else if km := keysJQL.FindStringSubmatch(jql); km != nil {
			for _, k := range strings.Split(km[1], ",") {
				if i := j.find(strings.Trim(strings.TrimSpace(k), `"`)); i != nil {
					out = append(out, map[string]any{"id": i.Key, "key": i.Key, "fields": i.searchFields()})
				}
			}
		}
		writeJSON(w, 200, map[string]any{"startAt": 0, "maxResults": 50, "total": len(out), "issues": out})
	case r.Method == "POST" && r.URL.Path == "/rest/api/2/issue":
		var body struct {
			Fields struct {
				Project     struct{ Key string }  `json:"project"`
				IssueType   struct{ Name string } `json:"issuetype"`
				Summary     string                `json:"summary"`
				Description string                `json:"description"`
				Labels      []string              `json:"labels"`
			} `json:"fields"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Fields.Summary == "" || body.Fields.Project.Key != j.project {
			writeJSON(w, 400, map[string]any{"errorMessages": []string{}, "errors": map[string]string{"project": "valid project is required"}})
			return
		}
		f := body.Fields
		i := &JiraIssue{Key: fmt.Sprintf("%s-%d", j.project, len(j.issues)+1), Summary: f.Summary, Description: f.Description, Type: f.IssueType.Name, Status: "To Do", Labels: f.Labels, Updated: time.Now()}
		j.issues = append(j.issues, i)
		writeJSON(w, 201, map[string]any{"id": fmt.Sprint(10000 + len(j.issues)), "key": i.Key, "self": j.srv.URL + "/rest/api/2/issue/" + i.Key})
	case m != nil && m[2] == "" && r.Method == "PUT":
		i := j.find(m[1])
		if i == nil {
			jiraErr(w, 404, "Issue does not exist or you do not have permission to see it.")
			return
		}
		var body struct {
			Fields map[string]any `json:"fields"`
		}
		json.NewDecoder(r.Body).Decode(&body)
		if s, ok := body.Fields["summary"].(string); ok {
			i.Summary = s
		}
		if s, ok := body.Fields["description"].(string); ok {
			i.Description = s
		}
		if ls, ok := body.Fields["labels"].([]any); ok {
			i.Labels = nil
			for _, l := range ls {
				i.Labels = append(i.Labels, fmt.Sprint(l))
			}
		}
		i.Updates++
		i.Updated = time.Now()
		w.WriteHeader(204)
	case m != nil && m[2] != "" && r.Method == "GET":
		i := j.find(m[1])
		if i == nil {
			jiraErr(w, 404, "Issue does not exist or you do not have permission to see it.")
			return
		}
		var ts []any
		if i.Status == "Done" {
			ts = append(ts, map[string]any{"id": "11", "name": "Reopen", "to": map[string]any{"name": "To Do"}})
		} else {
			ts = append(ts, map[string]any{"id": "31", "name": "Done", "to": map[string]any{"name": "Done"}})
		}
		writeJSON(w, 200, map[string]any{"transitions": ts})
	case m != nil && m[2] != "" && r.Method == "POST":
		i := j.find(m[1])
		var body struct {
			Transition struct{ ID string } `json:"transition"`
		}
		json.NewDecoder(r.Body).Decode(&body)
		switch {
		case i == nil:
			jiraErr(w, 404, "Issue does not exist or you do not have permission to see it.")
		case body.Transition.ID == "31" && i.Status != "Done":
			i.Status, i.Updated = "Done", time.Now()
			w.WriteHeader(204)
		case body.Transition.ID == "11" && i.Status == "Done":
			i.Status, i.Updated = "To Do", time.Now()
			w.WriteHeader(204)
		default:
			writeJSON(w, 400, map[string]any{"errorMessages": []string{"Transition id '" + body.Transition.ID + "' is not valid for this issue."}})
		}
	case r.Method == "POST" && r.URL.Path == "/rest/api/2/issueLink":
		var body struct {
			Type         struct{ Name string } `json:"type"`
			InwardIssue  struct{ Key string }  `json:"inwardIssue"`
			OutwardIssue struct{ Key string }  `json:"outwardIssue"`
		}
		json.NewDecoder(r.Body).Decode(&body)
		in, out := j.find(body.InwardIssue.Key), j.find(body.OutwardIssue.Key)
		if in == nil || out == nil || body.Type.Name == "" {
			jiraErr(w, 404, "Issue does not exist or you do not have permission to see it.")
			return
		}
		if !contains(out.Links, in.Key) { // Jira keeps one link of a type between two issues
			out.Links, in.Links = append(out.Links, in.Key), append(in.Links, out.Key)
		}
		w.WriteHeader(201)
	default:
		jiraErr(w, 404, "no such resource")
	}
}
