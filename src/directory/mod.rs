//! The emulated Entra directory: Graph user objects and the rules the real directory enforces on them
//! (required properties, the values Graph accepts, UPN uniqueness and verified domains, the manager
//! reference). No SQL here: the store (`crate::store`) persists these objects.

mod rules;
mod user;
mod values;

pub use rules::{WriteProblem, check_create, check_update};
pub use user::{DirectoryUser, TEXT_PROPERTIES, TargetValue, USER_PROPERTIES, V1_DEFAULT_PROPERTIES};
pub use values::ValueFault;
