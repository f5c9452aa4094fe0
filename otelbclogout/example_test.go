package otelbclogout_test

import (
	"context"
	"net/http"

	"go.opentelemetry.io/otel"

	"github.com/bclogout/bclogout"
	"github.com/bclogout/bclogout/otelbclogout"
	"github.com/bclogout/bclogout/sessionadapter"
)

func ExampleNew() {
	var sessions sessionadapter.Sessions // scsadapter.New(sm) in a real app
	h := otelbclogout.New(otel.GetTracerProvider())
	logout, err := bclogout.New(context.Background(), bclogout.Config{
		Issuer: "https://op.example", ClientID: "my-app", Sessions: sessions,
		OnLogout: h.OnLogout, OnReject: h.OnReject, Metrics: h,
	})
	if err != nil {
		return
	}
	defer logout.Close(context.Background())
	mux := http.NewServeMux() // the app's routes, inside its session loading and logout.Guard
	_ = http.ListenAndServe(":8080", logout.Endpoints(mux))
}
