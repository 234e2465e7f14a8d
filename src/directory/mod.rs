//! The emulated Entra directory: Graph user objects and the rules the real directory enforces on them
//! (UPN uniqueness and verified domains, required properties on create, the manager reference).
//! No SQL here: the store (`crate::store`) persists these objects.

mod rules;
mod user;

pub use rules::{CreateProblem, check_create};
pub use user::{DirectoryUser, TEXT_PROPERTIES, TargetValue, USER_PROPERTIES, V1_DEFAULT_PROPERTIES};
