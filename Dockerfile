# keygate container image: a static binary on distroless, running as non-root.
#   docker build -t keygate .
#   docker run -p 8080:8080 -p 9901:9901 -v $PWD/config:/etc/keygate:ro keygate
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/keygate/keygate/internal/cli.version=${VERSION}" \
      -o /out/keygate ./cmd/keygate

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/keygate /usr/local/bin/keygate
USER 65532:65532
# 8080: API traffic; 9901: admin (metrics, health, readiness).
EXPOSE 8080 9901
ENTRYPOINT ["/usr/local/bin/keygate"]
CMD ["serve", "--config", "/etc/keygate/gateway.yaml", "--listen", "0.0.0.0:8080", "--admin", "0.0.0.0:9901"]
