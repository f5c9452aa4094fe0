module github.com/bclogout/bclogout/sessionadapter/pgadapter

go 1.26.0

require (
	github.com/bclogout/bclogout v0.0.0-00010101000000-000000000000
	github.com/jackc/pgx/v5 v5.13.0
)

require (
	github.com/go-json-experiment/json v1.27.2 // indirect
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	github.com/jackc/puddle/v2 v2.2.3 // indirect
	golang.org/x/sync v0.22.0 // indirect
	golang.org/x/text v0.41.0 // indirect
)

// In-repo modules: developed together (go.work); see README "Development".
replace github.com/bclogout/bclogout => ../..
