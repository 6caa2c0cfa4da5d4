package nexus

import "unsafe"

// view hands bytes to the generated layer, whose binary-safe strings are
// Go strings passed to C without a copy. The C API copies what it keeps
// and never writes through the pointer, and the caller's slice is not
// touched while the call runs, so no copy is needed here either.
func view(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}
