// Package objects owns Durable Object identity and lifecycle: namespaces, ids
// (64 hex digits, HMAC-bound to their namespace), the guarantee of one live
// instance per id, and routing events to that instance.
//
// The package does not know the JS engine. A guest (the JS runtime, or Go code)
// implements Class to create instances; the Host activates an instance on the
// first event for its id and hands it its storage.
package objects
