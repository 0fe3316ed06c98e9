// Package pagerduty adapts PagerDuty to warroom, through go-pagerduty: it
// takes PagerDuty's v3 webhooks (signature checked with go-pagerduty's
// helper) and turns incident events into incident.Alerts, and its Client
// looks up who is on call, pages services (Events API v2) and people (REST
// API), and resolves those pages.
//
// It imports the domain, never Slack or a store.
package pagerduty

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/PagerDuty/go-pagerduty/webhookv3"

	"github.com/warroom/warroom/incident"
)

// Source names PagerDuty in alerts and deliveries.
const Source = "pagerduty"

// WebhookHandler serves POST /webhooks/pagerduty.
type WebhookHandler struct {
	Secret  string
	OnAlert func(context.Context, incident.Alert) error
	Log     *slog.Logger
}

// event is the part of a v3 webhook warroom reads.
type event struct {
	Event struct {
		ID         string    `json:"id"`
		EventType  string    `json:"event_type"`
		OccurredAt time.Time `json:"occurred_at"`
		Data       struct {
			ID      string `json:"id"`
			Title   string `json:"title"`
			HTMLURL string `json:"html_url"`
			Service struct {
				ID      string `json:"id"`
				Summary string `json:"summary"`
			} `json:"service"`
			IncidentKey string `json:"incident_key"`
			Assignees   []struct {
				ID string `json:"id"`
			} `json:"assignees"`
		} `json:"data"`
		Agent struct {
			Summary string `json:"summary"`
		} `json:"agent"`
	} `json:"event"`
}

var events = map[string]string{
	"incident.triggered":    "triggered",
	"incident.acknowledged": "acknowledged",
	"incident.resolved":     "resolved",
}

func (h *WebhookHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 2<<20)
	if err := webhookv3.VerifySignature(r, h.Secret); err != nil {
		h.Log.WarnContext(r.Context(), "refused a pagerduty webhook", "remote", r.RemoteAddr, "reason", err.Error())
		http.Error(w, "invalid webhook signature", http.StatusUnauthorized)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var ev event
	if err := json.Unmarshal(body, &ev); err != nil || ev.Event.ID == "" {
		http.Error(w, "not a PagerDuty v3 webhook", http.StatusBadRequest)
		return
	}
	kind, ok := events[ev.Event.EventType]
	if !ok {
		w.WriteHeader(http.StatusNoContent) // pagey.ping and events warroom does not use
		return
	}
	a := incident.Alert{Source: Source, EventID: ev.Event.ID, Event: kind, ExternalID: ev.Event.Data.ID,
		Service: ev.Event.Data.Service.ID, ServiceName: ev.Event.Data.Service.Summary,
		Title: strings.TrimSpace(ev.Event.Data.Title), URL: ev.Event.Data.HTMLURL, At: ev.Event.OccurredAt.UTC(),
		IncidentKey: ev.Event.Data.IncidentKey, By: ev.Event.Agent.Summary}
	if len(ev.Event.Data.Assignees) > 0 {
		a.Assignee = ev.Event.Data.Assignees[0].ID
	}
	if a.Title == "" {
		a.Title = "PagerDuty incident " + a.ExternalID
	}
	if err := h.OnAlert(r.Context(), a); err != nil {
		// PagerDuty redelivers on a 5xx; the event id makes that safe.
		h.Log.ErrorContext(r.Context(), "pagerduty webhook not handled", "event", a.EventID, "err", err)
		http.Error(w, "try again", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
