// Tests of the Go package against an independent WebSocket implementation,
// gorilla/websocket, kept out of the package's own module so that users of
// nexus-socket/nexus do not inherit it. CMake points the requirement at
// Debian's golang-github-gorilla-websocket-dev when it is installed
// (bindings/go/CMakeLists.txt); otherwise the module proxy, checked by
// go.sum.
module nexus-socket/nexus/interop

go 1.24

require (
	github.com/gorilla/websocket v1.5.3
	nexus-socket/nexus v0.0.0
)

replace nexus-socket/nexus => ../
