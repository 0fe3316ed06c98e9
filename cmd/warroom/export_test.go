package main

import (
	"context"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/store"
)

var pageAll = incident.Page{}

func openForTest(path string) (*store.DB, error) { return store.Open(context.Background(), path) }
