module github.com/keygate/keygate/bench/fastprobe

go 1.26.0

require (
	github.com/keygate/keygate v0.0.0
	github.com/valyala/fasthttp v1.78.0
)

require (
	github.com/golang-jwt/jwt/v5 v5.3.1 // indirect
	github.com/klauspost/compress v1.20.3 // indirect
	github.com/molecule-man/go-brrr v1.3.1 // indirect
	github.com/valyala/bytebufferpool v1.0.0 // indirect
)

replace github.com/keygate/keygate => ../..
