// Package metrics serves warroom's Prometheus metrics through the
// Prometheus client library: the state of incidents, action items and the
// outbox, read from the database at each scrape (so every copy of warroom
// reports the same figures, and a restart loses nothing), plus the
// latency of commands and the outbox worker's counters, kept in memory.
package metrics

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/warroom/warroom/outbox"
	"github.com/warroom/warroom/store"
)

// DurationBuckets are the buckets of the time-to histograms, in seconds:
// from a minute to three days.
var DurationBuckets = []float64{60, 120, 300, 600, 900, 1800, 3600, 2 * 3600, 4 * 3600, 8 * 3600, 24 * 3600, 72 * 3600}

// Metrics holds the registry and the in-memory series.
type Metrics struct {
	reg      *prometheus.Registry
	commands *prometheus.HistogramVec
}

// New registers warroom's metrics. db is read at each scrape; worker's
// counters are reported as they are (nil: left out).
func New(db *store.DB, worker *outbox.Worker, now func() time.Time) *Metrics {
	if now == nil {
		now = time.Now
	}
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.commands = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "warroom_command_duration_seconds",
		Help:    "Time to run a slash command, from parsing to the reply, by command and outcome.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"command", "outcome"})
	m.reg.MustRegister(m.commands, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&dbCollector{db: db, now: now})
	if worker != nil {
		for _, c := range []struct {
			name, help string
			get        func(outbox.Stats) int
		}{
			{"warroom_outbox_delivered_total", "Outbox items delivered since start.", func(s outbox.Stats) int { return s.Delivered }},
			{"warroom_outbox_retries_total", "Failed delivery attempts that will be retried, since start.", func(s outbox.Stats) int { return s.Retried }},
			{"warroom_outbox_failed_total", "Outbox items refused for good since start.", func(s outbox.Stats) int { return s.Failed }},
			{"warroom_outbox_expired_total", "Outbox items given up as too late since start.", func(s outbox.Stats) int { return s.Expired }},
		} {
			get := c.get
			m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: c.name, Help: c.help},
				func() float64 { return float64(get(worker.Stats())) }))
		}
	}
	return m
}

// Command records one command's latency.
func (m *Metrics) Command(name string, failed bool, took time.Duration) {
	outcome := "ok"
	if failed {
		outcome = "rejected"
	}
	m.commands.WithLabelValues(name, outcome).Observe(took.Seconds())
}

// Handler serves the metrics in Prometheus text format. A non-empty token
// is required as "Authorization: Bearer <token>".
func (m *Metrics) Handler(token string) http.Handler {
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
	if token == "" {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte("Bearer "+token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="warroom metrics"`)
			http.Error(w, "metrics need WARROOM_METRICS_TOKEN as a bearer token", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

var (
	incidentsDesc = prometheus.NewDesc("warroom_incidents", "Incidents by severity and state (investigating, identified, monitoring, resolved, closed).", []string{"severity", "state"}, nil)
	ttaDesc       = prometheus.NewDesc("warroom_time_to_acknowledge_seconds", "Time from declaration to the first acknowledgement, per incident.", nil, nil)
	ttmDesc       = prometheus.NewDesc("warroom_time_to_mitigate_seconds", "Time from declaration to mitigation (monitoring), per incident.", nil, nil)
	ttrDesc       = prometheus.NewDesc("warroom_time_to_resolve_seconds", "Time from declaration to resolution, per incident.", nil, nil)
	lateDesc      = prometheus.NewDesc("warroom_status_updates_late_total", "Public updates that went past their due time.", nil, nil)
	escDesc       = prometheus.NewDesc("warroom_status_updates_escalated_total", "Late public updates that were escalated.", nil, nil)
	overdueUpd    = prometheus.NewDesc("warroom_status_updates_overdue", "Incidents not closed whose next public update (the final one, after resolve) is overdue now.", nil, nil)
	openAIDesc    = prometheus.NewDesc("warroom_action_items_open", "Open action items by priority.", []string{"priority"}, nil)
	overdueAIDesc = prometheus.NewDesc("warroom_action_items_overdue", "Open action items past their due day, by priority.", []string{"priority"}, nil)
	outboxDesc    = prometheus.NewDesc("warroom_outbox_items", "Outbox items not delivered, by system and state (pending is the backlog; failed and expired need an admin).", []string{"system", "state"}, nil)
	scrapeErrDesc = prometheus.NewDesc("warroom_metrics_database_up", "1 if the database answered this scrape.", nil, nil)
)

// dbCollector reads the database's figures at each scrape.
type dbCollector struct {
	db  *store.DB
	now func() time.Time
}

func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{incidentsDesc, ttaDesc, ttmDesc, ttrDesc, lateDesc, escDesc, overdueUpd, openAIDesc, overdueAIDesc, outboxDesc, scrapeErrDesc} {
		ch <- d
	}
}

func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := c.db.Stats(ctx, c.now())
	if err != nil {
		ch <- prometheus.MustNewConstMetric(scrapeErrDesc, prometheus.GaugeValue, 0)
		ch <- prometheus.NewInvalidMetric(incidentsDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(scrapeErrDesc, prometheus.GaugeValue, 1)
	for k, n := range s.Incidents {
		ch <- prometheus.MustNewConstMetric(incidentsDesc, prometheus.GaugeValue, float64(n), "SEV"+k[0], k[1])
	}
	for _, h := range []struct {
		desc *prometheus.Desc
		vals []float64
	}{{ttaDesc, s.ToAcknowledge}, {ttmDesc, s.ToMitigate}, {ttrDesc, s.ToResolve}} {
		ch <- histogram(h.desc, h.vals)
	}
	ch <- prometheus.MustNewConstMetric(lateDesc, prometheus.CounterValue, float64(s.LateUpdates))
	ch <- prometheus.MustNewConstMetric(escDesc, prometheus.CounterValue, float64(s.Escalations))
	ch <- prometheus.MustNewConstMetric(overdueUpd, prometheus.GaugeValue, float64(s.UpdatesOverdue))
	for p := 1; p <= 3; p++ {
		ch <- prometheus.MustNewConstMetric(openAIDesc, prometheus.GaugeValue, float64(s.OpenActions[p]), "P"+strconv.Itoa(p))
		ch <- prometheus.MustNewConstMetric(overdueAIDesc, prometheus.GaugeValue, float64(s.OverdueActions[p]), "P"+strconv.Itoa(p))
	}
	for _, state := range []string{"pending", "failed", "expired"} {
		if s.Outbox[[2]string{"slack", state}] == 0 {
			s.Outbox[[2]string{"slack", state}] = 0 // always present, so alerts on it have a series
		}
	}
	for k, n := range s.Outbox {
		ch <- prometheus.MustNewConstMetric(outboxDesc, prometheus.GaugeValue, float64(n), k[0], k[1])
	}
}

// histogram buckets values (seconds) into a constant histogram.
func histogram(desc *prometheus.Desc, vals []float64) prometheus.Metric {
	buckets := make(map[float64]uint64, len(DurationBuckets))
	var sum float64
	for _, v := range vals {
		sum += v
		for _, b := range DurationBuckets {
			if v <= b {
				buckets[b]++
			}
		}
	}
	return prometheus.MustNewConstHistogram(desc, uint64(len(vals)), sum, buckets)
}
