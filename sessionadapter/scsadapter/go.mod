module github.com/bclogout/bclogout/sessionadapter/scsadapter

go 1.26.0

require (
	github.com/alexedwards/scs/redisstore v0.0.0-20251002162104-209de6e426de
	github.com/alexedwards/scs/v2 v2.9.0
	github.com/bclogout/bclogout v0.0.0-00010101000000-000000000000
	github.com/gomodule/redigo v1.8.0
)

require (
	github.com/go-json-experiment/json v1.27.2 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
)

replace github.com/bclogout/bclogout => ../..
