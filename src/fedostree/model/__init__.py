"""Typed models of the inputs and records fedostree reads and writes: treefile,
lockfile, commit metadata. Shared by the build server and the client."""
