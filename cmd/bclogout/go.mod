module github.com/bclogout/bclogout/cmd/bclogout

go 1.26.0

require (
	github.com/alicebob/miniredis/v2 v2.40.0
	github.com/bclogout/bclogout v0.0.0-00010101000000-000000000000
	github.com/bclogout/bclogout/internal/redistest v0.0.0-00010101000000-000000000000
	github.com/bclogout/bclogout/prommetrics v0.0.0-00010101000000-000000000000
	github.com/bclogout/bclogout/replay/redisreplay v0.0.0-00010101000000-000000000000
	github.com/bclogout/bclogout/sessionadapter/gorillaadapter v0.0.0-00010101000000-000000000000
	github.com/bclogout/bclogout/sessionadapter/redisadapter v0.0.0-00010101000000-000000000000
	github.com/chromedp/chromedp v0.23.1
	github.com/go-chi/chi/v5 v5.5.0
	github.com/gorilla/sessions v1.4.0
	github.com/prometheus/client_golang v1.25.0
	github.com/redis/go-redis/v9 v9.23.0
)

require (
	github.com/beorn7/perks v1.0.1 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/chromedp/cdproto v0.160.1 // indirect
	github.com/decred/dcrd/dcrec/secp256k1/v4 v4.4.1 // indirect
	github.com/go-json-experiment/json v1.27.2 // indirect
	github.com/goccy/go-json v0.11.2 // indirect
	github.com/gorilla/securecookie v1.1.2 // indirect
	github.com/lestrrat-go/blackmagic v1.0.4 // indirect
	github.com/lestrrat-go/dsig v1.4.0 // indirect
	github.com/lestrrat-go/dsig-secp256k1 v1.0.0 // indirect
	github.com/lestrrat-go/httpcc v1.0.1 // indirect
	github.com/lestrrat-go/httprc/v3 v3.0.6 // indirect
	github.com/lestrrat-go/jwx/v3 v3.4.0 // indirect
	github.com/lestrrat-go/option/v2 v2.0.0 // indirect
	github.com/munnerz/goautoneg v0.0.0-20191010083416-a7dc8b61c822 // indirect
	github.com/pandatix/go-abnf v0.5.5 // indirect
	github.com/prometheus/client_model v0.6.3 // indirect
	github.com/prometheus/common v0.74.0 // indirect
	github.com/prometheus/procfs v0.22.0 // indirect
	github.com/segmentio/asm v1.2.1 // indirect
	github.com/valyala/fastjson v1.6.10 // indirect
	github.com/yuin/gopher-lua v1.1.1 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

// In-repo modules: developed together (go.work); see README "Development".
replace (
	github.com/bclogout/bclogout => ../..
	github.com/bclogout/bclogout/internal/redistest => ../../internal/redistest
	github.com/bclogout/bclogout/prommetrics => ../../prommetrics
	github.com/bclogout/bclogout/replay/redisreplay => ../../replay/redisreplay
	github.com/bclogout/bclogout/sessionadapter/gorillaadapter => ../../sessionadapter/gorillaadapter
	github.com/bclogout/bclogout/sessionadapter/redisadapter => ../../sessionadapter/redisadapter
)
