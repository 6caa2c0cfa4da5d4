// The Go examples (docs/go.md). They use the package from this source tree;
// run them with build/bin/go-nexus, which finds the build tree's library.
module nexus-socket/examples

go 1.24

require nexus-socket/nexus v0.0.0

replace nexus-socket/nexus => ../../bindings/go
