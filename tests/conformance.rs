//! Conformance of the native HDF5 reader against libhdf5: every HDF5 fixture in
//! `../shared/fixtures/real/{hdf5,dmrpp_pairs,icesat2}/` is read from the local file system with
//! `vz::hdf5::read_manifest` and compared, dataset by dataset and chunk by chunk, with its answer
//! key in `reference_manifests/` (see `tests/common/compare.rs` for what is compared).
//!
//! Run one file: `VZ_ONLY=tall.h5 scripts/test.sh --test conformance -- --nocapture`.

mod common;

use vz::source::SourceOptions;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fixture_matches_its_libhdf5_answer_key() {
    let Some(root) = common::fixtures_dir("conformance") else { return };
    let files = common::fixtures::conformance_files(&root);
    let summary = common::conformance::run(
        &root,
        "local",
        &files,
        |rel| root.join(rel).display().to_string(),
        &SourceOptions::default(),
    )
    .await;
    summary.print();
    summary.assert_ok();
}

#[test]
fn answer_keys_cover_every_fixture() {
    let Some(root) = common::fixtures_dir("answer_keys_cover_every_fixture") else { return };
    let files = common::fixtures::all_fixture_files(&root);
    let missing: Vec<&String> = files.iter().filter(|rel| !common::fixtures::key_path(&root, rel).is_file()).collect();
    assert!(missing.is_empty(), "fixtures without an answer key: {missing:?}");
    for rel in &files {
        let key = common::AnswerKey::load(&common::fixtures::key_path(&root, rel)).unwrap_or_else(|e| panic!("{e}"));
        let name = rel.rsplit('/').next().unwrap_or(rel);
        assert_eq!(key.file, name, "answer key of {rel} names another file");
        let size = std::fs::metadata(root.join(rel)).map(|m| m.len()).unwrap_or(0);
        assert_eq!(key.size, size, "answer key of {rel}: size");
    }
}

/// The comparison itself: a manifest built from each answer key matches it, and perturbing one
/// chunk offset, one fill value and one filter parameter yields exactly those mismatches.
#[test]
fn comparison_accepts_the_truth_and_reports_perturbations() {
    let Some(root) = common::fixtures_dir("comparison self-test") else { return };
    let (mut chunked, mut filled, mut filtered) = (false, false, false);
    for rel in common::fixtures::all_fixture_files(&root) {
        let key = common::AnswerKey::load(&common::fixtures::key_path(&root, &rel)).unwrap_or_else(|e| panic!("{e}"));
        let mut m = common::synth::manifest_from_key(&key);
        let c = common::compare_manifest(&m, &key);
        assert!(c.mismatches.is_empty(), "{rel}: {:?}", c.mismatches);

        let skipped: Vec<&str> = c.skipped.iter().map(|(p, _)| p.as_str()).collect();
        let Some(i) = m
            .arrays
            .iter()
            .position(|a| a.chunks.len() > 1 && a.unsupported.is_none() && !skipped.contains(&a.path.as_str()))
        else {
            continue;
        };
        let a = &mut m.arrays[i];
        a.chunks[1].offset += 1;
        let path = a.path.clone();
        let mut expected = 1;
        if let Some(v) = a.fill.value.as_mut() {
            v[0] ^= 1;
            expected += 1;
            filled = true;
        }
        if let Some(f) = a.filters.iter_mut().find(|f| !f.params.is_empty()) {
            f.params[0] += 1;
            expected += 1;
            filtered = true;
        }
        chunked = true;
        let c = common::compare_manifest(&m, &key);
        assert_eq!(c.mismatches.len(), expected, "{rel}: {:?}", c.mismatches);
        assert!(c.mismatches.iter().all(|l| l.starts_with(&format!("{path}: "))), "{rel}: {:?}", c.mismatches);
    }
    assert!(chunked && filled && filtered, "the fixtures exercise every perturbation");
}
