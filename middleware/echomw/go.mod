module github.com/bclogout/bclogout/middleware/echomw

go 1.26.0

require (
	github.com/bclogout/bclogout v0.0.0-00010101000000-000000000000
	github.com/labstack/echo/v4 v4.16.5
)

require (
	github.com/go-json-experiment/json v1.27.2 // indirect
	github.com/labstack/gommon v0.5.0 // indirect
	github.com/mattn/go-colorable v0.1.15 // indirect
	github.com/mattn/go-isatty v0.0.22 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
	github.com/valyala/bytebufferpool v1.0.0 // indirect
	github.com/valyala/fasttemplate v1.2.2 // indirect
	golang.org/x/crypto v0.58.0 // indirect
	golang.org/x/net v0.62.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/text v0.43.0 // indirect
)

// In-repo modules: developed together (go.work); see README "Development".
replace github.com/bclogout/bclogout => ../..
