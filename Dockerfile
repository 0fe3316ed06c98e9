# Build: docker build -t warroom .
# Run:   docker run -e SLACK_BOT_TOKEN=... -e SLACK_APP_TOKEN=... -p 8081:8081 -v warroom:/data warroom
# Drafts and /metrics: add -e WARROOM_ADMIN_ADDR=:8082 -e WARROOM_ADMIN_TOKEN=... -p 127.0.0.1:8082:8082 (docs/security.md)
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
# modernc.org/sqlite is pure Go, so the binary is static with cgo off.
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/warroom ./cmd/warroom
RUN mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/warroom /usr/local/bin/warroom
COPY --from=build --chown=65532:65532 /out/data /data
# distroless nonroot, by number: Kubernetes runAsNonRoot can verify a uid, not a name.
USER 65532:65532
ENV WARROOM_DB=/data/warroom.db WARROOM_ADDR=:8080
VOLUME /data
EXPOSE 8080 8081
ENTRYPOINT ["/usr/local/bin/warroom"]
CMD ["serve"]
