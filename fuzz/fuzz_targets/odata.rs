//! OData query options: the first byte picks `$filter` (then its SQL for both tables), `$orderby`, `$select`,
//! `$top` or `$skiptoken`; the rest is the option's text. Errors are expected, panics are bugs.
#![no_main]

use entra_inbound::odata::{PROVISIONING_LOG_FIELDS, USER_FIELDS, order_by_sql, parse_filter, parse_orderby};
use entra_inbound::odata::{parse_select, parse_top, skiptoken};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else { return };
    let Ok(src) = std::str::from_utf8(rest) else { return };
    match which % 5 {
        0 => {
            if let Ok(filter) = parse_filter(src) {
                let _ = filter.to_sql(&PROVISIONING_LOG_FIELDS);
                let _ = filter.to_sql(&USER_FIELDS);
            }
        }
        1 => {
            for fields in [&PROVISIONING_LOG_FIELDS, &USER_FIELDS] {
                if let Ok(order) = parse_orderby(src, fields) {
                    let _ = order_by_sql(&order, fields);
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
