module github.com/bclogout/bclogout/examples

go 1.26.10

require (
	github.com/bclogout/bclogout v0.0.0-00010101000000-000000000000
	github.com/bclogout/bclogout/middleware/chimw v0.0.0-00010101000000-000000000000
	github.com/bclogout/bclogout/middleware/echomw v0.0.0-00010101000000-000000000000
	github.com/bclogout/bclogout/prommetrics v0.0.0-00010101000000-000000000000
	github.com/go-chi/chi/v5 v5.5.0
	github.com/labstack/echo/v4 v4.16.5
	github.com/prometheus/client_golang v1.25.0
)

require (
	github.com/beorn7/perks v1.0.1 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/go-json-experiment/json v1.27.2 // indirect
	github.com/labstack/gommon v0.5.0 // indirect
	github.com/lestrrat-go/dsig v1.4.0 // indirect
	github.com/lestrrat-go/jwx/v4 v4.6.0 // indirect
	github.com/lestrrat-go/option/v3 v3.0.0-alpha1 // indirect
	github.com/mattn/go-colorable v0.1.15 // indirect
	github.com/mattn/go-isatty v0.0.22 // indirect
	github.com/munnerz/goautoneg v0.0.0-20191010083416-a7dc8b61c822 // indirect
	github.com/pandatix/go-abnf v0.5.5 // indirect
	github.com/prometheus/client_model v0.6.3 // indirect
	github.com/prometheus/common v0.74.0 // indirect
	github.com/prometheus/procfs v0.22.0 // indirect
	github.com/valyala/bytebufferpool v1.0.0 // indirect
	github.com/valyala/fasttemplate v1.2.2 // indirect
	golang.org/x/crypto v0.58.0 // indirect
	golang.org/x/net v0.62.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/text v0.43.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

// In-repo modules: developed together (go.work); see README "Development".
replace (
	github.com/bclogout/bclogout => ..
	github.com/bclogout/bclogout/middleware/chimw => ../middleware/chimw
	github.com/bclogout/bclogout/middleware/echomw => ../middleware/echomw
	github.com/bclogout/bclogout/prommetrics => ../prommetrics
)
