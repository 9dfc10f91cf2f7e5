//! The conformance run of `tests/conformance.rs` over the network backends: every fixture served
//! (a) by a local HTTP server with Range support and (b) by moto's S3 server, both on 127.0.0.1.
//! The manifests must match the answer keys exactly as they do locally; the summary reports the
//! requests, bytes and round trips each backend needed.
//!
//! The S3 run needs `$VZ_PYTHON` with moto[server] (scripts/test.sh provides it) and skips with a
//! notice otherwise.

mod common;

use common::servers::{HttpServer, MotoServer, S3_KEY, S3_REGION};
use vz::source::SourceOptions;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_range_reads_match_answer_keys() {
    let Some(root) = common::fixtures_dir("remote http") else { return };
    let files = common::fixtures::conformance_files(&root);
    let server = HttpServer::start(&root).await.expect("start HTTP server");
    let base = server.base.clone();
    let summary =
        common::conformance::run(&root, "http", &files, |rel| format!("{base}/{rel}"), &SourceOptions::default()).await;
    drop(server);
    summary.print();
    summary.assert_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_reads_from_moto_match_answer_keys() {
    let Some(root) = common::fixtures_dir("remote s3") else { return };
    let Some(python) = MotoServer::python("remote s3") else { return };
    let files = common::fixtures::conformance_files(&root);
    let moto = MotoServer::start(&python).await.unwrap_or_else(|e| panic!("moto: {e}"));
    let bucket = "vz-fixtures";
    moto.upload(bucket, &root, &files).await.unwrap_or_else(|e| panic!("moto: {e}"));
    // The reader's S3 client takes credentials and region from the environment, like on AWS.
    std::env::set_var("AWS_ACCESS_KEY_ID", S3_KEY);
    std::env::set_var("AWS_SECRET_ACCESS_KEY", S3_KEY);
    std::env::set_var("AWS_REGION", S3_REGION);
    let opts = SourceOptions { s3_endpoint: Some(moto.endpoint.clone()), ..Default::default() };
    let summary = common::conformance::run(&root, "s3", &files, |rel| format!("s3://{bucket}/{rel}"), &opts).await;
    drop(moto);
    summary.print();
    summary.assert_ok();
}
