package gorillaadapter_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/gorilla/sessions"

	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/gorillaadapter"
)

// A FilesystemStore app: bind the saved session at login; a logout token
// for its sid deletes the session file.
func ExampleNew() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "sessions")
	defer os.RemoveAll(dir)
	store := sessions.NewFilesystemStore(dir, []byte("0123456789abcdef0123456789abcdef"))
	app := gorillaadapter.New(store, "app")
	index, _ := sessionadapter.NewMemory(sessionadapter.WithDeleter(app.(sessionadapter.Deleter)))

	// Login callback, after validating the ID token.
	r := httptest.NewRequest(http.MethodGet, "/callback", nil)
	w := httptest.NewRecorder()
	b, _ := app.Stash(w, r, sessionadapter.Binding{
		Issuer: "https://op.example", Subject: "alice", SessionID: "sid-1", LoginTime: time.Now(),
	})
	_ = index.Bind(ctx, b)

	n, err := index.EndSessions(ctx, sessionadapter.Logout{Issuer: "https://op.example", SessionID: "sid-1"})
	files, _ := os.ReadDir(dir)
	fmt.Println(n, err, len(files))
	// Output: 1 <nil> 0
}
