package fakeop_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/bclogout/bclogout/fakeop"
)

// TestFrontchannelLogoutURI: StartApp takes the URI relative to the app,
// and the OP's end_session page frames it with iss and sid.
func TestFrontchannelLogoutURI(t *testing.T) {
	op := fakeop.New(t)
	app := op.StartApp(t, fakeop.Client{ID: "app", RedirectURIs: []string{"/callback"}, FrontchannelLogoutURI: "/frontchannel-logout"},
		func(string) (http.Handler, error) { return http.NotFoundHandler(), nil })
	sid, err := op.NewSession("alice", "app")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.PostForm(op.Issuer()+"/end_session", url.Values{"sid": {sid}})
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	frame := app.URL + "/frontchannel-logout?" + url.Values{"iss": {op.Issuer()}, "sid": {sid}}.Encode()
	if !strings.Contains(string(page), `src="`+strings.ReplaceAll(frame, "&", "&amp;")+`"`) {
		t.Errorf("end_session page frames no %s:\n%s", frame, page)
	}
}
