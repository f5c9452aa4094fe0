module github.com/bclogout/bclogout/sessionadapter/gorillaadapter

go 1.26.0

require (
	github.com/bclogout/bclogout v0.0.0-00010101000000-000000000000
	github.com/gorilla/sessions v1.4.0
)

require (
	github.com/go-json-experiment/json v1.27.2 // indirect
	github.com/gorilla/securecookie v1.1.2
)

// In-repo modules: developed together (go.work); see README "Development".
replace github.com/bclogout/bclogout => ../..
