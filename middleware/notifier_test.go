package middleware_test

import (
	"bufio"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bclogout/bclogout/internal/errs"
	"github.com/bclogout/bclogout/middleware"
	"github.com/bclogout/bclogout/sessionadapter"
)

// notifierApp serves a Notifier whose session is named by the "sid" query
// parameter, logged in an hour ago.
func notifierApp(t *testing.T, opts ...middleware.NotifierOption) (*middleware.Notifier, sessionadapter.Revocations, *httptest.Server) {
	t.Helper()
	rev, err := sessionadapter.NewMemoryRevocations()
	if err != nil {
		t.Fatal(err)
	}
	lookup := func(r *http.Request) (sessionadapter.Binding, bool) {
		sid := r.URL.Query().Get("sid")
		return sessionadapter.Binding{Issuer: "i", Subject: "u", SessionID: sid, LocalID: sid, LoginTime: time.Now().Add(-time.Hour)}, sid != ""
	}
	n, err := middleware.NewNotifier(rev, lookup, append([]middleware.NotifierOption{middleware.WithLogger(slog.New(slog.DiscardHandler))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(n)
	t.Cleanup(func() { _ = n.Close(); srv.Close() })
	return n, rev, srv
}

// stream opens the event stream and returns a channel of its event names.
func stream(t *testing.T, url string) (*http.Response, <-chan string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	events := make(chan string, 4)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if name, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
				events <- name
			}
		}
	}()
	return resp, events
}

func TestNotifierTellsTheOpenPage(t *testing.T) {
	ctx := context.Background()
	_, rev, srv := notifierApp(t)
	resp, events := stream(t, srv.URL+"?sid=s1")
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || ct != "text/event-stream" {
		t.Fatalf("status %d, Content-Type %q, want 200 text/event-stream", resp.StatusCode, ct)
	}
	// Another session's logout says nothing to this page.
	if err := rev.Revoke(ctx, sessionadapter.Logout{Issuer: "i", SessionID: "other"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := rev.Revoke(ctx, sessionadapter.Logout{Issuer: "i", SessionID: "s1"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-events:
		if ev != "logout" {
			t.Fatalf("event %q, want logout", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no logout event")
	}
	if _, open := <-events; open {
		t.Fatal("the stream went on after the logout event")
	}
}

func TestNotifierPageOpenedAfterLogout(t *testing.T) {
	_, rev, srv := notifierApp(t)
	if err := rev.Revoke(context.Background(), sessionadapter.Logout{Issuer: "i", SessionID: "s1"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	_, events := stream(t, srv.URL+"?sid=s1")
	if ev := <-events; ev != "logout" {
		t.Fatalf("event %q, want logout at once", ev)
	}
}

func TestNotifierAnswers(t *testing.T) {
	_, _, srv := notifierApp(t)
	tests := []struct {
		name, method, query string
		want                int
	}{
		{name: "no session", method: http.MethodGet, want: http.StatusNoContent},
		{name: "post", method: http.MethodPost, query: "?sid=s1", want: http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.query, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
}

// Close ends every open stream and returns only when their handlers have.
func TestNotifierClose(t *testing.T) {
	n, _, srv := notifierApp(t)
	_, events := stream(t, srv.URL+"?sid=s1")
	done := make(chan struct{})
	go func() { _ = n.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return")
	}
	for range events {
	}
	resp, err := http.Get(srv.URL + "?sid=s1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("after Close: %d, want 503", resp.StatusCode)
	}
}

type notWatchable struct{ sessionadapter.Revocations }

func TestNewNotifierInvalid(t *testing.T) {
	rev, _ := sessionadapter.NewMemoryRevocations()
	lookup := func(*http.Request) (sessionadapter.Binding, bool) { return sessionadapter.Binding{}, false }
	tests := []struct {
		name    string
		rev     sessionadapter.Revocations
		lookup  func(*http.Request) (sessionadapter.Binding, bool)
		opts    []middleware.NotifierOption
		wantErr error
	}{
		{name: "ok", rev: rev, lookup: lookup},
		{name: "nil revocations", lookup: lookup, wantErr: errs.ErrInvalidConfig},
		{name: "not watchable", rev: notWatchable{rev}, lookup: lookup, wantErr: errs.ErrInvalidConfig},
		{name: "nil lookup", rev: rev, wantErr: errs.ErrInvalidConfig},
		{name: "zero heartbeat", rev: rev, lookup: lookup, opts: []middleware.NotifierOption{middleware.WithHeartbeat(0)}, wantErr: errs.ErrInvalidConfig},
		{name: "nil logger", rev: rev, lookup: lookup, opts: []middleware.NotifierOption{middleware.WithLogger(nil)}, wantErr: errs.ErrInvalidConfig},
		{name: "zero max streams", rev: rev, lookup: lookup, opts: []middleware.NotifierOption{middleware.WithMaxStreams(0)}, wantErr: errs.ErrInvalidConfig},
		{name: "nil option", rev: rev, lookup: lookup, opts: []middleware.NotifierOption{nil}, wantErr: errs.ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := middleware.NewNotifier(tt.rev, tt.lookup, tt.opts...)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("NewNotifier err = %v, want %v", err, tt.wantErr)
			}
			if n != nil {
				_ = n.Close()
			}
		})
	}
}

// Streams are bounded: any signed-in user could otherwise open as many as
// they like, a goroutine and a connection each. A closed stream frees its
// place.
func TestNotifierMaxStreams(t *testing.T) {
	_, rev, srv := notifierApp(t, middleware.WithMaxStreams(1))
	resp, events := stream(t, srv.URL+"?sid=s1")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("first stream: status %d, want 200", resp.StatusCode)
	}
	second, err := http.Get(srv.URL + "?sid=s2")
	if err != nil {
		t.Fatal(err)
	}
	second.Body.Close()
	if second.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("stream beyond the bound: status %d, want 503", second.StatusCode)
	}
	// The first stream ends with its logout; its place is free again.
	if err := rev.Revoke(context.Background(), sessionadapter.Logout{Issuer: "i", SessionID: "s1"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	for range events {
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, events := stream(t, srv.URL+"?sid=s3")
		if resp.StatusCode == http.StatusOK {
			_ = events
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no place freed after the first stream ended: status %d", resp.StatusCode)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
