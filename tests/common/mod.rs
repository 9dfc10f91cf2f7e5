//! Helpers shared by the integration tests (each `tests/*.rs` binary pulls in what it uses).
//!
//! - [`fixtures`]: where the third-party fixture files are (`../shared/fixtures/real`), and which
//!   of them the conformance suite reads.
//! - [`answer_key`]: the libhdf5 answer keys in `reference_manifests/` (one JSON per HDF5 file).
//! - [`compare`]: a [`vz::manifest::GranuleManifest`] against its answer key, field by field.
//! - [`conformance`]: read every fixture through one backend, compare, print the summary.
//! - [`interop`]: repo root, the project's Python, real ICESat-2 files, a catalog of the fixtures.
//! - [`rng`]: a fixed-seed generator for the hostile-input tests (also included alone, by path).
//! - [`servers`]: a local HTTP server and a moto S3 server for `tests/remote.rs`.
//! - [`synth`]: a manifest built from an answer key, to test the comparison itself.
#![allow(dead_code, unused_imports)] // each test binary uses a different part

pub mod answer_key;
pub mod compare;
pub mod conformance;
pub mod fixtures;
pub mod interop;
pub mod rng;
pub mod servers;
pub mod synth;

pub use answer_key::AnswerKey;
pub use compare::{compare_manifest, Comparison};
pub use fixtures::fixtures_dir;
