//! Graph permission names the emulator checks, and which of them satisfy each surface (docs/fidelity.md A.1).

pub const UPLOAD: &str = "SynchronizationData-User.Upload";
pub const UPLOAD_OWNED_BY: &str = "SynchronizationData-User.Upload.OwnedBy";
pub const AUDIT_LOG_READ: &str = "AuditLog.Read.All";
pub const DIRECTORY_READ: &str = "Directory.Read.All";
pub const DIRECTORY_READ_WRITE: &str = "Directory.ReadWrite.All";
pub const USER_READ: &str = "User.Read.All";
pub const SYNC_READ: &str = "Synchronization.Read.All";
pub const SYNC_READ_WRITE: &str = "Synchronization.ReadWrite.All";

/// Any one of these lets a caller upload with bulkUpload.
pub const BULK_UPLOAD: &[&str] = &[UPLOAD, UPLOAD_OWNED_BY];

/// Any one of these lets a caller read the SCIM service provider's resources.
pub const SCIM_READ: &[&str] = &[DIRECTORY_READ, DIRECTORY_READ_WRITE];
/// This one lets a caller change them.
pub const SCIM_WRITE: &[&str] = &[DIRECTORY_READ_WRITE];

/// Every permission the default client holds (the `token` command's default).
pub const ALL: &[&str] = &[UPLOAD, AUDIT_LOG_READ, DIRECTORY_READ, USER_READ, SYNC_READ_WRITE, DIRECTORY_READ_WRITE];
