package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/runbooks"
)

// runbooksCmd is `warroom runbooks export <dir>`: the checklists and the
// service cards as static HTML, written from the configuration alone (the
// services' last incidents are added when the database can be read), so
// they can be kept where an outage of the primary infrastructure does not
// reach them.
func runbooksCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	const use = "usage: warroom runbooks export <dir>"
	if len(args) < 2 || args[0] != "export" {
		return usageError(use)
	}
	dir, rest := args[1], args[2:]
	if dir == "" || strings.HasPrefix(dir, "-") {
		return usageError(use)
	}
	var c Config
	fs := newFlagSet("runbooks export", &c, getenv, stderr, "db", "checklists", "pagerduty-services")
	if err := fs.Parse(rest); err != nil {
		return err
	}
	services, err := c.services()
	if err != nil {
		return err
	}
	lists, err := loadChecklists(c.configFile, c.Checklists, services)
	if err != nil {
		return err
	}
	book := runbooks.Book{Title: "Incident runbooks", Checklists: lists, Generated: time.Now()}
	var recent []*incident.Incident
	if db, err := openExisting(ctx, c.DB); err != nil {
		fmt.Fprintf(stderr, "warroom: the services' last incidents are left out: %v\n", err)
	} else {
		recent, err = incident.NewService(db, nil).List(ctx, incident.Filter{PublicOnly: true, Limit: 500})
		db.Close()
		if err != nil {
			fmt.Fprintf(stderr, "warroom: the services' last incidents are left out: %v\n", err)
		}
	}
	for _, sv := range services {
		if sv.Name == "" {
			continue
		}
		sev, _ := incident.ParseSeverity(sv.Severity)
		s := runbooks.Service{Card: serviceCard(sv), Severity: sev}
		for _, inc := range recent {
			if strings.EqualFold(inc.Service, sv.Name) && len(s.Recent) < 3 {
				s.Recent = append(s.Recent, inc)
			}
		}
		book.Services = append(book.Services, s)
	}
	written, err := runbooks.Export(book, dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %d pages to %s: %s\n", len(written), dir, strings.Join(written, ", "))
	return nil
}
