//! The S3 flags every command that reads granules or catalogs takes, and the source options
//! they make.

use crate::source::SourceOptions;

#[derive(clap::Args, Debug)]
pub struct S3Args {
    /// S3 endpoint URL (e.g. http://127.0.0.1:9000); default $AWS_ENDPOINT_URL or AWS.
    #[arg(long, env = "VZ_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    /// Send unsigned S3 requests (public buckets).
    #[arg(long)]
    pub no_sign_request: bool,
}

impl S3Args {
    /// Source options with these S3 settings and defaults for the rest.
    pub fn source_options(&self) -> SourceOptions {
        SourceOptions { s3_endpoint: self.s3_endpoint.clone(), s3_unsigned: self.no_sign_request, ..SourceOptions::default() }
    }
}
