package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/websocket"
	"github.com/robfig/cron/v3"
	"github.com/slack-go/slack"

	"github.com/warroom/warroom/bot"
	"github.com/warroom/warroom/commands"
	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/metrics"
	"github.com/warroom/warroom/outbox"
	"github.com/warroom/warroom/pagerduty"
	"github.com/warroom/warroom/respond"
	"github.com/warroom/warroom/statuspage"
	"github.com/warroom/warroom/store"
)

const noCredentials = "serve needs Slack credentials: set SLACK_BOT_TOKEN and either SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP); to try warroom without Slack, run: go run ./cmd/warroom sandbox"

func serveCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	var c Config
	fs := newFlagSet("serve", &c, getenv, stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.BotToken == "" || (c.AppToken == "" && c.SigningSecret == "") {
		return usageError(noCredentials)
	}
	log := newLogger(c.LogLevel, stderr)
	// Check everything a person configured before touching anything, so a
	// broken template or setting stops warroom at start, not mid-incident.
	s, problems := c.check()
	if len(problems) > 0 {
		return problems[0]
	}
	tmpl, loc, cadence, lintOff, helpAfter, sweepEvery := s.templates, s.loc, s.cadence, s.lintOff, s.helpAfter, s.sweepEvery

	db, err := store.Open(ctx, c.DB)
	if err != nil {
		return err
	}
	defer db.Close()

	tlsConf, err := slackTLS(c.CAFile)
	if err != nil {
		return err
	}
	httpClient := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsConf, Proxy: http.ProxyFromEnvironment}}
	retry := slack.RetryConfig{MaxRetries: 2, RetryAfterJitter: 500 * time.Millisecond, BackoffInitial: 200 * time.Millisecond, BackoffMax: 10 * time.Second}
	retry.Handlers = append(slack.AllBuiltinRetryHandlers(retry), slack.NewServerErrorRetryHandler(retry))
	opts := []slack.Option{slack.OptionAPIURL(c.APIURL), slack.OptionHTTPClient(httpClient), slack.OptionRetryConfig(retry)}
	if c.AppToken != "" {
		opts = append(opts, slack.OptionAppLevelToken(c.AppToken))
	}
	api := slack.New(c.BotToken, opts...)
	auth, err := api.AuthTestContext(ctx)
	if err != nil {
		return fmt.Errorf("slack auth.test at %s failed: %v (check SLACK_BOT_TOKEN and SLACK_API_URL)", redactURL(c.APIURL), err)
	}

	svc := incident.NewService(db, nil)
	svc.UseCadence(cadence)
	svc.UseHelpAfter(helpAfter)
	svc.UseCloseAfter(s.closeAfter)
	svc.UseDeclareLimit(s.declareMax)
	svc.UseChecklists(s.checklists)
	disp := &commands.Dispatcher{Service: svc, Log: log, Templates: tmpl, Location: loc, Lint: incident.Lint{Disabled: lintOff},
		Postmortems: s.postmortems}
	for _, sv := range s.services {
		if sv.Name != "" {
			disp.Services = append(disp.Services, sv.Name)
			disp.Catalogue = append(disp.Catalogue, serviceCard(sv))
		}
	}
	for _, u := range strings.Split(c.Declarers, ",") {
		if u = strings.TrimSpace(u); u != "" {
			disp.Declarers = append(disp.Declarers, u)
		}
	}
	adminURL := c.adminURL()
	if c.AdminAddr == "off" {
		adminURL = ""
	}
	b := bot.New(bot.Options{API: api, Dispatcher: disp, AnnounceChannel: c.AnnounceChannel, AdminURL: redactURL(adminURL), Log: log, Guard: db, TimelineEmoji: c.TimelineEmoji,
		FormKey: []byte("warroom modal metadata\x00" + c.BotToken)})
	disp.Names, disp.FindUser = b.Names, b.FindUser

	// Everything warroom does outside itself goes through the outbox:
	// planned in the transaction of the timeline entry that causes it,
	// delivered by this worker, retried until it succeeds.
	worker := outbox.New(db, log, nil)
	worker.Backoff, worker.MaxBackoff, worker.Timeout = s.retryFirst, s.retryMax, s.callTimeout
	svc.UseOnCallWait(s.onCallWait)
	for kind, h := range b.Handlers() {
		worker.Handle(kind, h)
	}
	atl, err := c.atlassian(db, log)
	if err != nil {
		return err
	}
	if atl != nil {
		worker.Handle(incident.KindStatusPage, outbox.Handler{Deliver: func(ctx context.Context, e incident.Effect) error {
			p, err := publication(ctx, svc, e)
			if err != nil {
				return err
			}
			return atl.Deliver(ctx, p)
		}})
		log.Info("publishing to Atlassian Statuspage", "page", c.SPPage)
	}
	if s.pmOnResolve {
		// However an incident is resolved (the command, a published
		// resolved update), its draft is written through the outbox.
		worker.Handle(incident.KindPostmortemDraft, outbox.Handler{Deliver: disp.DeliverDraft})
	}
	resp := &respond.Responder{Service: svc, PD: s.pd, Jira: s.jira, Services: s.services, People: b, Log: log,
		RoomURL: func(ch string) string { return strings.TrimSuffix(auth.URL, "/") + "/archives/" + ch }}
	for kind, h := range resp.Handlers() {
		worker.Handle(kind, h)
	}
	if s.pd != nil {
		log.Info("paging through PagerDuty", "api", redactURL(c.PDAPIURL), "services", len(s.services), "on_call_from", firstNonEmpty(c.PDPolicy, c.PDSchedule))
	}
	if s.jira != nil {
		log.Info("keeping Jira issues", "url", redactURL(c.JiraURL), "project", c.JiraProject)
	}
	worker.OnTrouble = func(ctx context.Context, e incident.Effect, err error, first bool) {
		text := commands.TroubleText(e, err, first)
		if text == "" {
			return
		}
		if e.Incident == 0 { // the weekly report: no war room to tell
			log.Warn("outbox: delivery failing", "kind", e.Kind, "err", err)
			return
		}
		if nerr := svc.Notice(ctx, e.Incident, text, map[string]string{"system": e.System()}); nerr != nil {
			log.Error("could not tell the war room about an outage", "incident", incident.Ref(e.Incident), "err", nerr)
		}
	}
	mets := metrics.New(db, worker, nil)
	disp.Observe = mets.Command
	svc.Plan(disp.Planner)
	svc.Enable(worker.Kinds()...)
	svc.OnEnqueue(worker.Wake)
	wctx, stopWorker := context.WithCancel(context.Background())
	defer stopWorker()
	workerDone := make(chan struct{})
	go func() { worker.Run(wctx); close(workerDone) }()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		pctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := db.Ping(pctx); err != nil {
			http.Error(w, "database unreachable", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	if c.SigningSecret != "" {
		mux.Handle("/slack/", bot.NewHTTPHandler(b, c.SigningSecret))
	}
	if c.PDSecret != "" {
		corr := s.correlation
		mux.Handle("/webhooks/pagerduty", &pagerduty.WebhookHandler{Secret: c.PDSecret, Log: log,
			OnAlert: func(ctx context.Context, a incident.Alert) error { _, err := disp.Alert(ctx, a, corr); return err }})
		log.Info("taking PagerDuty webhooks", "services", len(corr.Rules), "window", corr.Window)
	}
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return err
	}
	// Every server has read, write and idle timeouts, so a slow or idle
	// client (slowloris) cannot hold connections open.
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	errc := make(chan error, 3)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()
	// The internal listener: postmortem drafts and /metrics, for the team.
	admin := &http.Server{ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute}
	if c.AdminAddr != "off" {
		aln, err := net.Listen("tcp", c.AdminAddr)
		if err != nil {
			return fmt.Errorf("WARROOM_ADMIN_ADDR: %w", err)
		}
		admin.Handler = adminHandler(svc, mets, c, adminHosts(c, aln.Addr().String()))
		go func() {
			if err := admin.Serve(aln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
		log.Info("internal pages serving (postmortem drafts, /metrics)", "addr", aln.Addr().String(), "url", redactURL(c.adminURL()), "token", c.AdminToken != "")
	}
	// The public status page has its own listener, apart from the Slack
	// endpoints, so it can be exposed without them.
	status := &http.Server{Handler: c.statusPage(svc, loc), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	if c.StatusAddr != "off" {
		sln, err := net.Listen("tcp", c.StatusAddr)
		if err != nil {
			return fmt.Errorf("WARROOM_STATUS_ADDR: %w", err)
		}
		go func() {
			if err := status.Serve(sln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
		log.Info("status page serving", "addr", sln.Addr().String(), "url", redactURL(c.statusURL()))
	}
	mode := "http"
	if c.AppToken != "" {
		mode = "socket"
		dialer := &websocket.Dialer{TLSClientConfig: tlsConf, Proxy: http.ProxyFromEnvironment, HandshakeTimeout: 10 * time.Second}
		go func() {
			if err := b.RunSocketMode(ctx, dialer); err != nil {
				errc <- fmt.Errorf("socket mode: %w", err)
			}
		}()
	}
	// Due reminders are rows in the database; the schedule only decides how
	// often they are looked for, so a restart neither loses nor repeats one.
	sched := cron.New(cron.WithLocation(time.UTC))
	sched.Schedule(cron.Every(sweepEvery), cron.FuncJob(func() { b.SweepReminders(ctx) }))
	weekly := s.weekly
	weekly.Source, weekly.Runs, weekly.Log, weekly.Wake = svc, db, log, worker.Wake
	weekly.Channel = firstNonEmpty(c.ReportChannel, c.AnnounceChannel)
	if err := weekly.Start(ctx, sched); err != nil && ctx.Err() == nil {
		return fmt.Errorf("weekly report: %w", err)
	}
	if s.jira != nil {
		// A slow Jira must not stack syncs up: a run still going skips the next.
		// With several replicas, one of them syncs each period: the period's
		// claim is a row, as the weekly report's is (each change it applies
		// is also checked again inside its write).
		sched.Schedule(cron.Every(s.jiraSync), cron.NewChain(cron.SkipIfStillRunning(cron.DiscardLogger)).Then(cron.FuncJob(func() {
			now := time.Now()
			if ok, err := db.ClaimRun(ctx, "jira-sync", now.Truncate(s.jiraSync), now, nil); err != nil || !ok {
				return
			}
			resp.SyncActions(ctx)
		})))
	}
	sched.Start()
	go b.SweepReminders(ctx) // a due time that passed while warroom was down fires now

	log.Info("warroom serving", "addr", ln.Addr().String(), "mode", mode, "team", auth.Team, "bot_user", auth.UserID, "db", store.Redact(c.DB), "version", version)

	select {
	case <-ctx.Done():
	case err = <-errc:
		log.Error("stopping", "err", err)
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	srv.Shutdown(sctx)
	status.Shutdown(sctx)
	admin.Shutdown(sctx)
	<-sched.Stop().Done() // no new reminders while the outbox drains
	if derr := b.Shutdown(sctx); derr != nil {
		log.Warn("replies left unsent at shutdown", "err", derr)
	}
	stopWorker()
	<-workerDone
	worker.Drain(sctx) // send what is due; the rest waits in the database for the next start
	if left, berr := db.OutboxBacklog(context.Background()); berr == nil && left[incident.EffectPending] > 0 {
		log.Warn("outbox work left for the next start", "pending", left[incident.EffectPending])
	}
	st := worker.Stats()
	log.Info("outbox at shutdown", "delivered", st.Delivered, "coalesced", st.Coalesced, "retried", st.Retried, "failed", st.Failed, "expired", st.Expired)
	return err
}

// slackTLS trusts the system's CAs plus those in caFile, if any.
func slackTLS(caFile string) (*tls.Config, error) {
	if caFile == "" {
		return nil, nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("SLACK_CA_FILE: %w", err)
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("SLACK_CA_FILE %s holds no PEM certificate", strings.TrimSpace(caFile))
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// publication is the Statuspage publication of the public update an
// effect names, exactly as it was published.
func publication(ctx context.Context, svc *incident.Service, e incident.Effect) (statuspage.Publication, error) {
	ups, err := svc.PublicUpdates(ctx, e.Incident)
	if err != nil {
		return statuspage.Publication{}, err
	}
	for _, u := range ups {
		if strconv.FormatInt(u.ID, 10) == e.Payload["update"] {
			return statuspage.PublicationOf(u), nil
		}
	}
	return statuspage.Publication{}, outbox.Permanent(fmt.Errorf("public update %s of %s not found", e.Payload["update"], incident.Ref(e.Incident)))
}

// serviceCard is a configured service as its card shows it.
func serviceCard(sv pagerduty.Service) incident.ServiceCard {
	c := incident.ServiceCard{Name: sv.Name, Runbook: sv.Runbook, Owners: sv.Owners, Channel: sv.Channel}
	for _, d := range sv.Dashboards {
		c.Dashboards = append(c.Dashboards, incident.NamedLink{Name: d.Name, URL: d.URL})
	}
	for _, ct := range sv.Contacts {
		c.Contacts = append(c.Contacts, incident.Contact{Name: ct.Name, Phone: ct.Phone, URL: ct.URL})
	}
	return c
}
