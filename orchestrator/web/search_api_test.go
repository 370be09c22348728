package web

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/api"
	"github.com/scalemalnet/scalemalnet/orchestrator/client"
)

// Search through the real API handler and the Go client over a real
// store: every filter reaches the store, pages chain by next_cursor, bad
// parameters are 400.
func TestSearchThroughAPI(t *testing.T) {
	st := openStore(t)
	srv := newServer(t, st)
	tr := sampleTrace(2, false, "")
	a := addJob(t, st, "alpha-dropper", []byte("A"), tr, malwareVerdict("Mirai"))
	b := addJob(t, st, "beta-tool", []byte("B"), tr, nil)
	a2 := addJob(t, st, "alpha-again", []byte("A"), tr, malwareVerdict("Mirai"))
	c := client.New(srv.URL, testToken)
	ctx := t.Context()
	ids := func(p api.Page) string {
		var s []string
		for _, j := range p.Jobs {
			s = append(s, j.ID)
		}
		return strings.Join(s, ",")
	}
	for _, tc := range []struct {
		q    api.ListQuery
		want string
	}{
		{api.ListQuery{MD5: strings.ToUpper(a.Sample.MD5)}, a2.ID + "," + a.ID},
		{api.ListQuery{SHA1: b.Sample.SHA1}, b.ID},
		{api.ListQuery{SHA256: a.Sample.SHA256, Name: "AGAIN"}, a2.ID},
		{api.ListQuery{Family: "mirai"}, a2.ID + "," + a.ID},
		{api.ListQuery{Verdict: "malware", Since: a.Created.Add(-time.Second), Until: a2.Created.Add(time.Second)}, a2.ID + "," + a.ID},
		{api.ListQuery{Signature: "none"}, ""},
	} {
		p, err := c.SearchJobs(ctx, tc.q)
		if err != nil || ids(p) != tc.want {
			t.Errorf("%+v: %s, %v; want %s", tc.q, ids(p), err, tc.want)
		}
	}
	var all []string
	q := api.ListQuery{Limit: 2}
	for i := 0; ; i++ {
		p, err := c.SearchJobs(ctx, q)
		if err != nil || i > 2 {
			t.Fatalf("page %d: %v", i, err)
		}
		all = append(all, ids(p))
		if p.NextCursor == "" {
			break
		}
		q.Cursor = p.NextCursor
	}
	if got := strings.Join(all, "|"); got != a2.ID+","+b.ID+"|"+a.ID {
		t.Fatalf("pages %s", got)
	}
	_, err := c.SearchJobs(ctx, api.ListQuery{MD5: "zz"})
	var ae *client.Error
	if !errors.As(err, &ae) || ae.Status != 400 {
		t.Fatalf("bad md5: %v", err)
	}
}
