# syntax=docker/dockerfile:1
# Build: a static binary, no cgo, no libc.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/cortex-gate/cortex-gate/cli.Version=${VERSION}" -o /out/cortex-gate .

# Run: the static binary on distroless/static's :debug variant, which adds a
# static busybox shell (/busybox/sh) to CA roots and tzdata. The shell is
# there because GitLab's `script:` and Jenkins' docker agent need one; the
# user is root because GitHub's Docker actions must be able to write to
# GITHUB_WORKSPACE, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY. The binary also
# embeds fallback CA roots, so it works in scratch too.
FROM gcr.io/distroless/static-debian12:debug
COPY --from=build /out/cortex-gate /usr/local/bin/cortex-gate
ENTRYPOINT ["/usr/local/bin/cortex-gate"]
