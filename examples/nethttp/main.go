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

	"github.com/bclogout/bclogout/middleware"
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
		fmt.Fprintln(os.Stderr, "nethttp:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, issuer, clientID, addr string) error {
	verifier, err := rp.Discover(ctx, issuer, clientID)
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
	logout, err := rp.NewHandler(verifier, sessions)
	if err != nil {
		return err
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	if err := middleware.Mount(mux, middleware.DefaultPath, logout); err != nil {
		return err
	}
	return serve(ctx, addr, mux)
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
