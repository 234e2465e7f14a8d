//! The SCIM BulkRequest parser behind bulkUpload: any body is refused with violations or accepted as
//! operations, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = entra_inbound::scim::bulk::parse_bulk_request(data);
});
