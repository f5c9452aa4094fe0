package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/bclogout/bclogout/jwks"
	"github.com/bclogout/bclogout/middleware"
	"github.com/bclogout/bclogout/middleware/chimw"
	"github.com/bclogout/bclogout/prommetrics"
	"github.com/bclogout/bclogout/rp"
	"github.com/bclogout/bclogout/sessionadapter"
)

func main() {
	issuer := flag.String("issuer", os.Getenv("BCLOGOUT_ISSUER"), "the OP's issuer URL")
	clientID := flag.String("client-id", os.Getenv("BCLOGOUT_CLIENT_ID"), "this RP's client_id at the OP")
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *issuer, *clientID, *addr); err != nil {
		fmt.Fprintln(os.Stderr, "chi:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, issuer, clientID, addr string) error {
	reg := prometheus.NewRegistry()
	metrics, err := prommetrics.New(reg)
	if err != nil {
		return err
	}
	verifier, err := rp.Discover(ctx, issuer, clientID,
		rp.WithJWKSOptions(jwks.WithOnRefresh(metrics.JWKSRefreshed)))
	if err != nil {
		return err
	}
	defer verifier.Close()
	// The app's login handler calls sessions.Bind with the ID token's iss,
	// sub and sid; a logout token then ends the bound sessions.
	sessions, err := sessionadapter.NewMemory()
	if err != nil {
		return err
	}
	logout, err := rp.NewHandler(verifier, sessions, rp.WithMetrics(metrics))
	if err != nil {
		return err
	}

	r := chi.NewRouter()
	r.Get("/healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	r.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	// The OP's request carries no session cookie and no CSRF token: mount
	// the endpoint outside the r.Group that holds the app's guard and CSRF.
	if err := chimw.Mount(r, middleware.DefaultPath, logout); err != nil {
		return err
	}
	return serve(ctx, addr, r)
}

// serve answers on addr until ctx ends, then lets requests in flight finish.
func serve(ctx context.Context, addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	fmt.Printf("listening on http://%s\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return srv.Shutdown(shutdownCtx)
	}
}
