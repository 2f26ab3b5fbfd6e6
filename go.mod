module github.com/cortex-gate/cortex-gate

go 1.26.8

require (
	github.com/cenkalti/backoff/v4 v4.3.0 // indirect
	github.com/getkin/kin-openapi v0.153.0 // indirect
	github.com/google/go-cmp v0.7.0 // indirect
	github.com/google/go-github/v62 v62.0.0 // indirect
	github.com/sethvargo/go-githubactions v1.3.0 // indirect
	golang.org/x/time v0.16.0 // indirect
)
