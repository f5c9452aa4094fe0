package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bclogout/bclogout/internal/opkit"
)

// TestSignOutAtOneReplicaIsRefusedAtAnother: Sign out pressed at replica
// A revokes the OP session in PostgreSQL, and replica B refuses the same
// session cookie at once, even with the session's row back in the table
// (a request in flight at A saved it after the sign-out): only the
// revocation, which B heard by LISTEN/NOTIFY, keeps the user out.
func TestSignOutAtOneReplicaIsRefusedAtAnother(t *testing.T) {
	op, a, b, db := startReplicas(t)
	browser := op.SignIn(t, a+"/login", "alice")
	if page := get(t, browser, b+"/"); !strings.Contains(page, "Signed in as <b>alice</b>") {
		t.Fatalf("replica B before the sign-out (the session is in PostgreSQL): %s", page)
	}
	cookie := sessionCookie(t, browser, a)
	var data []byte
	var expiry time.Time
	if err := db.QueryRow(t.Context(), "SELECT data, expiry FROM sessions WHERE token = $1", cookie.Value).Scan(&data, &expiry); err != nil {
		t.Fatalf("the session's row: %v", err)
	}

	// The button's POST at A; the browser stops at the redirect to the
	// OP, whose back-channel logout would tell B itself.
	resp := send(t, http.MethodPost, a+"/signout", cookie)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, op.Issuer()+"/") {
		t.Fatalf("Sign out at A: %d to %q, want 303 to the OP", resp.StatusCode, loc)
	}
	if _, err := db.Exec(t.Context(), `INSERT INTO sessions (token, data, expiry) VALUES ($1, $2, $3)
		ON CONFLICT (token) DO UPDATE SET data = EXCLUDED.data, expiry = EXCLUDED.expiry`, cookie.Value, data, expiry); err != nil {
		t.Fatal(err)
	}

	// B hears of the revocation within milliseconds (LISTEN/NOTIFY), or
	// fails closed past the staleness bound: it is asked until it has.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		resp = send(t, http.MethodGet, b+"/", cookie)
		loc := resp.Header.Get("Location")
		if resp.StatusCode == http.StatusSeeOther && loc == "/signed-out" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica B after Sign out at A: %d to %q, want 303 to /signed-out", resp.StatusCode, loc)
		}
	}
}

// TestBackchannelLogoutAtOneReplicaEndsTheSessionAtAnother: the OP's
// logout token reaches replica B (the client's back-channel logout URI),
// and the browser's next request to replica A is signed out. The OP
// sends it while a request of the browser is in flight at A, which saves
// the session back afterwards: A's guard, fed from PostgreSQL, is what
// ends it.
func TestBackchannelLogoutAtOneReplicaEndsTheSessionAtAnother(t *testing.T) {
	op, a, b, _ := startReplicas(t)
	browser := op.SignIn(t, a+"/login", "alice")
	if page := get(t, browser, a+"/"); !strings.Contains(page, "Signed in as <b>alice</b>") {
		t.Fatalf("replica A after sign-in: %s", page)
	}
	rep := op.SignOut(t, browser)
	if len(rep.Deliveries) != 1 || !strings.HasPrefix(rep.Deliveries[0].URI, b+"/") {
		t.Fatalf("the logout token went to %+v, want replica B (%s) only", rep.Deliveries, b)
	}
	// A hears of B's revocation within milliseconds (LISTEN/NOTIFY), or
	// fails closed past the staleness bound: it is asked until it has.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		page := get(t, browser, a+"/")
		if strings.Contains(page, "Signed out.") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica A after the logout at B: %s", page)
		}
	}
}

// startReplicas starts a fake OP and two replicas of the app, A and B,
// on one fresh database, and registers the app with the OP: both
// replicas' callbacks and sign-out routes, and B's back-channel logout
// endpoint. It returns their base URLs and a connection to the database.
// A browser's cookie reaches both, as behind one load balancer: cookies
// ignore ports.
func startReplicas(t *testing.T) (op *opkit.OP, a, b string, db *pgx.Conn) {
	t.Helper()
	dsn, db := newDatabase(t)
	op, err := opkit.NewServer("127.0.0.1:0", opkit.WithAllowLoopbackTargets())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(op.Close)
	a, b = startReplica(t, op.Issuer(), dsn), startReplica(t, op.Issuer(), dsn)
	err = op.RegisterClient(opkit.Client{
		ID: "app", RedirectURIs: []string{a + "/callback", b + "/callback"},
		BackchannelLogoutURI:   b + "/backchannel-logout",
		PostLogoutRedirectURIs: []string{a + "/signout", b + "/signout"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return op, a, b, db
}

// startReplica serves one replica of the app, with its own bclogout.New,
// until t ends.
func startReplica(t *testing.T, issuer, dsn string) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	app, err := newApp(t.Context(), config{Issuer: issuer, ClientID: "app", BaseURL: base, DatabaseURL: dsn})
	if err != nil {
		srv.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := app.Close(); err != nil {
			t.Errorf("closing the replica at %s: %v", base, err)
		}
	})
	srv.Config.Handler = app
	srv.Start()
	t.Cleanup(srv.Close) // before app.Close: cleanups run last first
	return base
}

// newDatabase creates a database of its own for t on the server
// scripts/with-postgres.sh starts (BCLOGOUT_PG_URL), dropped when t ends,
// and returns its URL and a connection to it. Without the server the test
// skips, so that `go test` works on a bare machine; under CI it fails, so
// a broken setup cannot pass as a run of skipped tests.
func newDatabase(t *testing.T) (string, *pgx.Conn) {
	t.Helper()
	server := os.Getenv("BCLOGOUT_PG_URL")
	if server == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("BCLOGOUT_PG_URL is not set: run the tests under scripts/with-postgres.sh")
		}
		t.Skip("BCLOGOUT_PG_URL is not set: run under scripts/with-postgres.sh for real PostgreSQL")
	}
	admin, err := pgx.Connect(t.Context(), server)
	if err != nil {
		t.Fatal(err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "example_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(t.Context(), "CREATE DATABASE "+name); err != nil {
		admin.Close(context.Background())
		t.Fatal(err)
	}
	t.Cleanup(func() { // after the replicas have closed their pools
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := admin.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping %s: %v", name, err)
		}
		_ = admin.Close(ctx)
	})
	u, err := url.Parse(server)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	db, err := pgx.Connect(t.Context(), u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close(context.Background()) })
	return u.String(), db
}

// sessionCookie returns the browser's scs session cookie for base.
func sessionCookie(t *testing.T, browser *http.Client, base string) *http.Cookie {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range browser.Jar.Cookies(u) {
		if c.Name == "session" {
			return c
		}
	}
	t.Fatalf("the browser has no session cookie for %s", base)
	return nil
}

// send makes one request with cookie and no redirect followed.
func send(t *testing.T, method, target string, cookie *http.Cookie) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.AddCookie(cookie)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func get(t *testing.T, c *http.Client, target string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(page)
}
