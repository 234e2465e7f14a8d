//! Provisioning log entries: the typed `provisioningObjectSummary` the engine writes ([`model`]), its step
//! descriptions ([`description`]), its Graph JSON rendering ([`render`]) and reading a Graph document back
//! ([`from_json`]). The store keeps entries in a compact form of its own (`crate::store`).

pub mod description;
pub mod from_json;
pub mod model;
pub mod render;

pub use description::Description;
pub use from_json::{DocumentError, from_graph_json};
pub use model::{
    EntryContext, EvaluatedMappings, Initiator, MappingSet, ModifiedProperty, ProvisionedIdentity, ProvisioningAction,
    ProvisioningErrorInfo, ProvisioningObjectSummary, ProvisioningResult, ProvisioningStep, ProvisioningSystem,
    SOURCE_SYSTEM, Shown, StepType, TARGET_SYSTEM,
};
pub use render::{for_beta, to_graph_json};

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Arc;

    use serde_json::json;
    use time::macros::datetime;

    use super::*;

    /// An entry with every part filled in.
    pub(crate) fn sample() -> ProvisioningObjectSummary {
        let set =
            Arc::new(MappingSet(vec![("displayName".into(), "[displayName]".into()), ("mail".into(), "[m]".into())]));
        let mut export = ProvisioningStep::new(
            "EntryExportAdd",
            StepType::Export,
            ProvisioningResult::Success,
            Description::Created { upn: "b@x".into() },
        )
        .detail("ReportableIdentifier", "b@x");
        export.mappings = Some(EvaluatedMappings { set, values: vec![Shown::Value("Babs".into()), Shown::Null] });
        ProvisioningObjectSummary {
            id: "e1".into(),
            activity_date_time: datetime!(2025-01-15 10:00:07 UTC),
            context: Arc::new(EntryContext::for_job("t", "J", "sp", "SP name")),
            cycle_id: "c".into(),
            change_id: "x".into(),
            duration_in_milliseconds: 3,
            action: ProvisioningAction::Create,
            status: ProvisioningResult::Failure,
            error: Some(ProvisioningErrorInfo {
                error_code: "E".into(),
                error_category: "nonServiceFailure".into(),
                reason: "r".into(),
                additional_details: None,
                recommended_action: Some("fix".into()),
            }),
            source_identity: ProvisionedIdentity::user("701984", "Babs"),
            target_identity: ProvisionedIdentity::user("u1", "Babs"),
            steps: vec![
                ProvisioningStep::new(
                    "EntryImport",
                    StepType::Import,
                    ProvisioningResult::Success,
                    Description::Received { source: "701984".into() },
                )
                .detail("name.givenName", "Barbara"),
                export,
            ],
            modified_properties: vec![ModifiedProperty {
                display_name: "displayName".into(),
                old_value: None,
                new_value: Some("Babs".into()),
            }],
        }
    }

    #[test]
    fn renders_every_property_of_the_resource() {
        let v = to_graph_json(&sample());
        assert_eq!(v["activityDateTime"], "2025-01-15T10:00:07Z");
        assert_eq!(v["jobId"], "J");
        assert_eq!(v["provisioningSteps"][0]["description"], "Received User '701984' from API");
        assert_eq!(v["provisioningSteps"][0]["provisioningStepType"], "import");
        assert_eq!(
            v["provisioningSteps"][1]["details"],
            json!({"ReportableIdentifier": "b@x", "displayName": "[displayName] = \"Babs\"", "mail": "[m] = (null)"})
        );
        assert_eq!(v["provisioningStatusInfo"]["errorInformation"]["recommendedAction"], "fix");
        assert_eq!(
            v["modifiedProperties"][0],
            json!({"displayName": "displayName", "oldValue": null, "newValue": "Babs"})
        );
        assert_eq!(v["servicePrincipal"], json!({"id": "sp", "displayName": "SP name"}));
        assert_eq!(v["targetSystem"]["details"]["ServicePrincipalId"], "sp");
        assert_eq!(v["initiatedBy"]["initiatorType"], "system");
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys.len(), 17, "{keys:?}");
    }

    #[test]
    fn beta_adds_deprecated_action_and_status_info() {
        let failed = to_graph_json(&sample());
        let beta = for_beta(failed.clone());
        assert_eq!(beta["action"], "create");
        assert_eq!(beta["statusInfo"]["@odata.type"], "#microsoft.graph.statusDetails");
        assert_eq!(beta["statusInfo"]["status"], failed["provisioningStatusInfo"]["status"]);
        assert_eq!(beta["statusInfo"]["recommendedAction"], "fix");
        let mut succeeded = sample();
        succeeded.status = ProvisioningResult::Success;
        succeeded.error = None;
        let beta = for_beta(to_graph_json(&succeeded));
        assert_eq!(beta["statusInfo"], json!({"@odata.type": "#microsoft.graph.statusBase", "status": "success"}));
    }

    #[test]
    fn a_rendered_document_reads_back_into_an_entry_that_renders_the_same() {
        let doc = to_graph_json(&sample());
        let back = from_graph_json(&doc, datetime!(2000-01-01 0:00 UTC)).unwrap();
        assert_eq!(to_graph_json(&back), doc);
        assert_eq!(back.context, sample().context);
    }

    #[test]
    fn wrong_documents_are_refused_with_their_path() {
        let at = datetime!(2000-01-01 0:00 UTC);
        let e = from_graph_json(&json!({"provisioningAction": "explode"}), at).unwrap_err();
        assert_eq!(e.path, "$.provisioningAction");
        let e = from_graph_json(&json!({"provisioningSteps": [{"provisioningStepType": "x"}]}), at).unwrap_err();
        assert_eq!(e.path, "$.provisioningSteps[0].provisioningStepType");
        let e = from_graph_json(&json!({"sourceIdentity": {"id": 5}}), at).unwrap_err();
        assert_eq!(e.to_string(), "$.sourceIdentity.id: must be a string");
        let minimal = from_graph_json(&json!({"id": "a"}), at).unwrap();
        assert_eq!((minimal.activity_date_time, minimal.action), (at, ProvisioningAction::Other));
    }
}
