package opkit_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/bclogout/bclogout/internal/opkit"
)

// TestEndSessionFrontChannel: end_session frames the frontchannel_logout_uri
// of each RP of the session with iss and sid (Front-Channel Logout 1.0 §3),
// sends back-channel logout to the others, and goes on to a registered
// post_logout_redirect_uri with state only from the page, after the frames.
func TestEndSessionFrontChannel(t *testing.T) {
	op := opkit.New(t)
	back := newRP(t)
	const bye = "http://front.example/bye"
	for _, c := range []opkit.Client{
		{ID: "front", RedirectURIs: []string{"http://front.example/cb"}, PostLogoutRedirectURIs: []string{bye},
			FrontchannelLogoutURI: "http://front.example/fc?x=1"},
		{ID: "back", RedirectURIs: []string{"http://back.example/cb"}, BackchannelLogoutURI: back.url()},
	} {
		if err := op.RegisterClient(c); err != nil {
			t.Fatal(err)
		}
	}
	sid, err := op.NewSession("alice", "front", "back")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.PostForm(op.Issuer()+"/end_session", url.Values{
		"sid": {sid}, "client_id": {"front"}, "post_logout_redirect_uri": {bye}, "state": {"st"},
	})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(b)
	frame := "http://front.example/fc?" + url.Values{"iss": {op.Issuer()}, "sid": {sid}, "x": {"1"}}.Encode()
	next := bye + "?state=st"
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("end_session: %s", resp.Status)
	}
	for _, want := range []string{`src="` + strings.ReplaceAll(frame, "&", "&amp;") + `"`, `id="next" href="` + next + `"`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s:\n%s", want, page)
		}
	}
	if got := back.got(); len(got) != 1 || payload(t, got[0])["sid"] != sid {
		t.Errorf("back-channel tokens %v, want one for %s", got, sid)
	}
	if open := op.Sessions("alice"); len(open) != 0 {
		t.Errorf("sessions left open: %v", open)
	}
}

func TestFrontchannelLogoutURIRegistration(t *testing.T) {
	op := opkit.New(t)
	for _, bad := range []string{"/fc", "http://front.example/fc#frag", "ftp://front.example/fc"} {
		err := op.RegisterClient(opkit.Client{ID: "c" + bad, FrontchannelLogoutURI: bad})
		if !errors.Is(err, opkit.ErrInvalidRedirectURI) {
			t.Errorf("frontchannel_logout_uri %q: %v, want ErrInvalidRedirectURI", bad, err)
		}
	}
}

func TestWithoutEndSession(t *testing.T) {
	op := opkit.New(t, opkit.WithoutEndSession())
	status, body := get(t, op.DiscoveryURL())
	var d map[string]any
	if err := json.Unmarshal(body, &d); status != http.StatusOK || err != nil {
		t.Fatalf("discovery: %d %v", status, err)
	}
	if v, ok := d["end_session_endpoint"]; ok {
		t.Errorf("end_session_endpoint = %v, want none", v)
	}
}
