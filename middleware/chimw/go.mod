module github.com/bclogout/bclogout/middleware/chimw

go 1.26.0

require (
	github.com/bclogout/bclogout v0.0.0-00010101000000-000000000000
	github.com/go-chi/chi/v5 v5.5.0
)

require github.com/go-json-experiment/json v1.27.2 // indirect

// In-repo modules: developed together (go.work); see README "Development".
replace github.com/bclogout/bclogout => ../..
