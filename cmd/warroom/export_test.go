package main

import (
	"context"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/sqlite"
)

var pageAll = incident.Page{}

func openForTest(path string) (*sqlite.DB, error) { return sqlite.Open(context.Background(), path) }
