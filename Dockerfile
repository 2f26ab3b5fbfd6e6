# syntax=docker/dockerfile:1
# Build: a static binary, no cgo, no libc.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/cortex-gate/cortex-gate/cli.Version=${VERSION}" -o /out/cortex-gate .

# Run: nothing but the binary and CA roots (the binary also embeds fallback
# roots), as a non-root user.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/cortex-gate /cortex-gate
ENTRYPOINT ["/cortex-gate"]
