package client

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/scalemalnet/scalemalnet/orchestrator/api"
	"github.com/scalemalnet/scalemalnet/orchestrator/api/apitest"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
)

func TestJobsPageCancelDelete(t *testing.T) {
	f := apitest.NewFake()
	srv := httptest.NewServer(handler(f))
	defer srv.Close()
	c := New(srv.URL, token)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if _, err := c.Submit(ctx, fmt.Sprint("s", i), strings.NewReader(fmt.Sprint(i)), jobs.Options{}); err != nil {
			t.Fatal(err)
		}
	}
	p1, err := c.JobsPage(ctx, api.ListQuery{Limit: 2})
	if err != nil || len(p1.Jobs) != 2 || p1.NextCursor == "" {
		t.Fatalf("page 1: %+v %v", p1, err)
	}
	p2, err := c.JobsPage(ctx, api.ListQuery{Limit: 2, Before: p1.NextCursor})
	if err != nil || len(p2.Jobs) != 1 || p2.NextCursor != "" {
		t.Fatalf("page 2: %+v %v", p2, err)
	}
	id := p2.Jobs[0].ID
	if _, err := c.Delete(ctx, id); !errors.Is(err, ErrConflict) {
		t.Fatalf("delete of a queued job: %v, want ErrConflict", err)
	}
	j, err := c.Cancel(ctx, id)
	if err != nil || j.State != jobs.Cancelled {
		t.Fatalf("cancel: %+v %v", j, err)
	}
	if _, err := c.Cancel(ctx, id); !errors.Is(err, ErrConflict) {
		t.Fatalf("second cancel: %v", err)
	}
	if _, err := c.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Job(ctx, id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}
