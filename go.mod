module github.com/bclogout/bclogout

go 1.26.10

toolchain go1.27.4

require (
	github.com/go-json-experiment/json v1.27.2
	github.com/lestrrat-go/jwx/v4 v4.6.0
)

require (
	github.com/lestrrat-go/dsig v1.4.0 // indirect
	github.com/lestrrat-go/option/v3 v3.0.0-alpha1 // indirect
)
