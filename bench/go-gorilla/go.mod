// The gorilla/websocket echo server of scripts/bench-go: Debian's
// golang-github-gorilla-websocket-dev (GOFLAGS=-mod=mod GOPROXY=off with the
// replace below), the version the Go binding's interop tests use.
module nexus-socket/bench/gorilla-echo

go 1.24

require github.com/gorilla/websocket v1.5.0

replace github.com/gorilla/websocket => /usr/share/gocode/src/github.com/gorilla/websocket
