package opkit_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bclogout/bclogout/internal/errs"
	"github.com/bclogout/bclogout/internal/opkit"
)

// TestSSRFGuardOwnDialHooks: a transport given through WithHTTPClient
// keeps none of its dial hooks. The deprecated DialTLS used to win over
// the guarded dialer for https targets.
func TestSSRFGuardOwnDialHooks(t *testing.T) {
	rp := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	t.Cleanup(rp.Close)
	var hooked atomic.Int64
	tlsDial := func(network, addr string) (net.Conn, error) {
		hooked.Add(1)
		return tls.Dial(network, addr, &tls.Config{InsecureSkipVerify: true})
	}
	tests := []struct {
		name string
		tr   *http.Transport
	}{
		{name: "DialTLS", tr: &http.Transport{DialTLS: tlsDial}},
		{name: "DialTLSContext", tr: &http.Transport{DialTLSContext: func(_ context.Context, network, addr string) (net.Conn, error) {
			return tlsDial(network, addr)
		}}},
		{name: "Dial", tr: &http.Transport{Dial: func(network, addr string) (net.Conn, error) {
			hooked.Add(1)
			return net.Dial(network, addr)
		}, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}},
		{name: "DialContext", tr: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			hooked.Add(1)
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hooked.Store(0)
			op, err := opkit.NewServer("127.0.0.1:0", opkit.WithHTTPClient(&http.Client{Transport: tt.tr}),
				opkit.WithRetries(1))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(op.Close)
			if err := op.RegisterClient(opkit.Client{ID: "rp", BackchannelLogoutURI: rp.URL + "/logout"}); err != nil {
				t.Fatal(err)
			}
			sid, _ := op.NewSession("alice", "rp")
			rep, _ := op.EndSession(context.Background(), sid)
			if d := rep.Deliveries[0]; !errors.Is(d.Err, opkit.ErrForbiddenTarget) {
				t.Errorf("delivery to loopback through the caller's %s: %+v, want ErrForbiddenTarget", tt.name, d)
			}
			if n := hooked.Load(); n != 0 {
				t.Errorf("the transport's own %s dialled %d times past the guard", tt.name, n)
			}
		})
	}
}

// TestLoopbackOptIn: New's development opt-in reaches loopback only;
// the private network needs WithAllowPrivateTargets, said by name.
func TestLoopbackOptIn(t *testing.T) {
	dev := opkit.New(t, opkit.WithDeliveryTimeout(200*time.Millisecond), opkit.WithRetries(1))
	private := opkit.New(t, opkit.WithAllowPrivateTargets())
	tests := []struct {
		name    string
		op      *opkit.OP
		uri     string
		wantErr error
	}{
		{"http 127.0.0.1", dev, "http://127.0.0.1:1/logout", nil},
		{"http [::1]", dev, "http://[::1]:1/logout", nil},
		{"http localhost", dev, "http://localhost:1/logout", nil},
		{"http LOCALHOST", dev, "http://LOCALHOST:1/logout", nil},
		{"http other loopback", dev, "http://127.0.0.2:1/logout", opkit.ErrInvalidLogoutURI},
		{"http private", dev, "http://10.0.0.1/logout", opkit.ErrInvalidLogoutURI},
		{"http public name", dev, "http://rp.example/logout", opkit.ErrInvalidLogoutURI},
		{"https anywhere", dev, "https://rp.example/logout", nil},
		{"http private, private opt-in", private, "http://10.0.0.1/logout", nil},
		{"http public name, private opt-in", private, "http://rp.example/logout", nil},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.op.RegisterClient(opkit.Client{ID: string(rune('a' + i)), BackchannelLogoutURI: tt.uri})
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}

	// Delivery: a private address is refused at dial time, before any
	// packet leaves, although registration took its https URI.
	if err := dev.RegisterClient(opkit.Client{ID: "internal", BackchannelLogoutURI: "https://10.255.255.1:9/logout"}); err != nil {
		t.Fatal(err)
	}
	sid, _ := dev.NewSession("alice", "internal")
	rep, _ := dev.EndSession(context.Background(), sid)
	if d := rep.Deliveries[0]; !errors.Is(d.Err, opkit.ErrForbiddenTarget) {
		t.Errorf("delivery to a private address under the loopback opt-in: %+v, want ErrForbiddenTarget", d)
	}
}

// TestLoopbackOptInCustomTransport: the loopback opt-in keeps the guard,
// so a transport it cannot reach is still refused.
func TestLoopbackOptInCustomTransport(t *testing.T) {
	_, err := opkit.NewServer("127.0.0.1:0", opkit.WithAllowLoopbackTargets(),
		opkit.WithHTTPClient(&http.Client{Transport: roundTripFunc(nil)}))
	if !errors.Is(err, errs.ErrInvalidConfig) {
		t.Fatalf("err = %v, want ErrInvalidConfig", err)
	}
}
