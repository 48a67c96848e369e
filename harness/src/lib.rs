//! picharness harness.
