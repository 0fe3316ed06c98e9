package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/store"
)

// statuspageCmd is `warroom statuspage export <dir> [--watch]`: the status
// page as static files, for hosting away from the primary infrastructure.
func statuspageCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 || args[0] != "export" {
		return usageError("usage: warroom statuspage export <dir> [--watch]")
	}
	var c Config
	fs := newFlagSet("statuspage export", &c, getenv, stderr, "db", "timezone", "status-title", "status-url", "status-contact", "status-components")
	watch := fs.Bool("watch", false, "keep running and export again on every change")
	every := fs.Duration("every", 2*time.Second, "with --watch, how often to look for changes")
	rest := args[1:]
	var dir string
	if len(rest) > 0 && rest[0] != "" && rest[0][0] != '-' {
		dir, rest = rest[0], rest[1:]
	}
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if dir == "" && fs.NArg() > 0 {
		dir = fs.Arg(0)
	}
	if dir == "" {
		return usageError("usage: warroom statuspage export <dir> [--watch]")
	}
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		return fmt.Errorf("WARROOM_TIMEZONE: %w", err)
	}
	db, err := store.Open(ctx, c.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	page := c.statusPage(incident.NewService(db, nil), loc)
	var last []byte
	for {
		// Export when what is published changed (the JSON says it all).
		s, err := page.Snapshot(ctx)
		if err != nil {
			return err
		}
		cur, err := page.JSON(s)
		if err != nil {
			return err
		}
		if !bytes.Equal(cur, last) {
			if err := page.Export(ctx, dir); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "exported the status page to %s\n", dir)
			last = cur
		}
		if !*watch {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(*every):
		}
	}
}
