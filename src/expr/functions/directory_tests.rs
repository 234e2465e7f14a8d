use crate::expr::testkit::{E, S, assert_arity_errors, run};

#[test]
fn default_domain() {
    run(&[
        ("DefaultDomain()", S("contoso.onmicrosoft.com")),
        (
            r#"Join("", Replace([userName], , "(?<Suffix>@(.)*)", "Suffix", "", , ), "@", DefaultDomain())"#,
            S("bjensen@contoso.onmicrosoft.com"),
        ),
    ]);
    assert_arity_errors(&["DefaultDomain([a])"]);
}

#[test]
fn app_role_functions_parse_but_do_not_evaluate() {
    run(&[
        ("AppRoleAssignmentsComplex([appRoleAssignments])", E("outbound app provisioning")),
        ("SingleAppRoleAssignment([appRoleAssignments])", E("outbound app provisioning")),
        ("SingleAppRoleAssignment([missing])", E("outbound")),
        ("SingleAppRoleAssignment([empty])", E("outbound")),
    ]);
    assert_arity_errors(&[
        "AppRoleAssignmentsComplex()",
        "AppRoleAssignmentsComplex([a], [b])",
        "SingleAppRoleAssignment()",
        "SingleAppRoleAssignment([a], [b])",
    ]);
}
