# Multi-stage build: go-sqlite3 needs cgo, so the binary is built with gcc and runs on a slim
# Debian with the C library it was linked against.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -trimpath -ldflags="-s -w" -o /out/pledge ./cmd/pledge

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home /data pledge && mkdir -p /data && chown pledge /data && chmod 700 /data
COPY --from=build /out/pledge /usr/local/bin/pledge
USER pledge
ENV PLEDGE_ADDR=:8080 PLEDGE_DB=/data/pledge.db
EXPOSE 8080
VOLUME /data
ENTRYPOINT ["pledge"]
CMD ["serve"]
