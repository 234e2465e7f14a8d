//! SCIM protocol logic without HTTP: the bulkUpload BulkRequest validation (docs/fidelity.md A.1) today; the RFC 7644
//! provider's model, filters and PATCH later.

pub mod bulk;
pub mod record;
