//! SCIM protocol logic without HTTP for bulkUpload: the BulkRequest validation (docs/fidelity.md A.1) and the
//! borrowed record tree it and the engine read (also how the SCIM provider, `crate::scim_server`, reads bodies).

pub mod bulk;
pub mod record;
