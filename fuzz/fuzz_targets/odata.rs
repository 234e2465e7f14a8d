//! OData query options: the first byte picks `$filter` (then, once checked, its SQL on the logs and users
//! tables), `$orderby` (and its SQL), `$select`, `$top` or `$skiptoken`; the rest is the option's text. Errors are
//! expected, panics are bugs.
#![no_main]

use entra_inbound::odata::{PROVISIONING_LOG_FIELDS, USER_FIELDS, parse_filter, parse_orderby};
use entra_inbound::odata::{parse_select, parse_top, skiptoken};
use entra_inbound::store::translate_for_fuzzing;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else { return };
    let Ok(src) = std::str::from_utf8(rest) else { return };
    match which % 5 {
        0 => {
            if let Ok(filter) = parse_filter(src) {
                translate_for_fuzzing(Some(&filter), &[]);
            }
        }
        1 => {
            for fields in [&PROVISIONING_LOG_FIELDS, &USER_FIELDS] {
                if let Ok(order) = parse_orderby(src, fields) {
                    translate_for_fuzzing(None, &order);
                }
            }
        }
        2 => {
            let _ = parse_select(src, &["id", "displayName", "userPrincipalName", "manager"]);
        }
        3 => {
            let _ = parse_top(src, 1000);
        }
        _ => {
            let _ = skiptoken::decode(src);
        }
    }
});
