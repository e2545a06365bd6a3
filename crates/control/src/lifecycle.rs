//! The lifecycle's decisions, pure: which transition is allowed from which status, the
//! rollback target, and the reason a request is refused. Both store backends call these inside
//! their transactions, so nothing is decided twice.

use portcullis_protocol::admin::VersionStatus;

use crate::error::ApiError;

/// What `validate` does with a version in a given status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidateStep {
    /// DRAFT: mark it VALIDATED.
    Mark,
    /// VALIDATED already: answer the report again, change nothing.
    AlreadyValidated,
}

pub fn validate_step(version: i64, status: VersionStatus) -> Result<ValidateStep, ApiError> {
    match status {
        VersionStatus::Draft => Ok(ValidateStep::Mark),
        VersionStatus::Validated => Ok(ValidateStep::AlreadyValidated),
        VersionStatus::Active => Err(ApiError::conflict(
            "version_active",
            format!("config version {version} is ACTIVE; it was validated before it was activated"),
        )),
        VersionStatus::RolledBack => Err(rolled_back(version)),
    }
}

/// May `version` (in `status`) become ACTIVE, given the environment's ACTIVE version now and
/// what the caller expected it to be?
pub fn check_activation(
    version: i64,
    status: VersionStatus,
    active: Option<i64>,
    expected_active: Option<i64>,
) -> Result<(), ApiError> {
    match status {
        VersionStatus::Validated => check_expected(active, expected_active),
        VersionStatus::Draft => Err(ApiError::conflict(
            "version_not_validated",
            format!(
                "config version {version} is DRAFT; validate it first with POST /v1/versions/{version}/validate"
            ),
        )),
        VersionStatus::Active => Err(ApiError::conflict(
            "version_already_active",
            format!("config version {version} is already ACTIVE"),
        )),
        VersionStatus::RolledBack => Err(rolled_back(version)),
    }
}

/// A rollback needs an ACTIVE version (returned) and, when the caller names one, that one.
pub fn check_rollback(
    environment: &str,
    active: Option<i64>,
    expected_active: Option<i64>,
) -> Result<i64, ApiError> {
    let Some(active) = active else {
        return Err(ApiError::conflict(
            "no_active_version",
            format!("environment {environment:?} has no ACTIVE version to roll back"),
        ));
    };
    check_expected(Some(active), expected_active)?;
    Ok(active)
}

/// `expectedActiveVersion` (0: none active) must be the ACTIVE version at commit.
fn check_expected(active: Option<i64>, expected_active: Option<i64>) -> Result<(), ApiError> {
    match expected_active {
        Some(expected) if expected != active.unwrap_or(0) => Err(ApiError::conflict(
            "active_version_changed",
            format!(
                "expectedActiveVersion is {expected} but the ACTIVE version is {}; someone else changed it: look again and decide",
                active.map_or_else(|| "none (0)".to_string(), |active| active.to_string())
            ),
        )),
        _ => Ok(()),
    }
}

/// The version a rollback re-activates: walking the activation history from the newest, the
/// first version that is neither the current one nor ROLLED_BACK. `history` is newest first,
/// each entry the activated version and its status now.
pub fn rollback_target(history: &[(i64, VersionStatus)], current: i64) -> Option<i64> {
    history
        .iter()
        .find(|(version, status)| *version != current && *status != VersionStatus::RolledBack)
        .map(|(version, _)| *version)
}

pub fn no_rollback_target(environment: &str, current: i64) -> ApiError {
    ApiError::conflict(
        "no_rollback_target",
        format!(
            "environment {environment:?} has no earlier activated version to return to (ACTIVE: {current}); activate another version instead"
        ),
    )
}

fn rolled_back(version: i64) -> ApiError {
    ApiError::conflict(
        "version_rolled_back",
        format!(
            "config version {version} was ROLLED_BACK and cannot be used again; push its config as a new version"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use VersionStatus::*;

    #[test]
    fn only_a_validated_version_activates() {
        let cases = [
            (Validated, None, None, None),
            (Validated, Some(3), Some(3), None),
            (Validated, None, Some(0), None),
            (Validated, Some(3), Some(2), Some("active_version_changed")),
            (Validated, None, Some(2), Some("active_version_changed")),
            (Validated, Some(3), Some(0), Some("active_version_changed")),
            (Draft, None, None, Some("version_not_validated")),
            (Active, Some(7), None, Some("version_already_active")),
            (RolledBack, Some(3), None, Some("version_rolled_back")),
        ];
        for (status, active, expected, refusal) in cases {
            let outcome = check_activation(7, status, active, expected);
            assert_eq!(
                outcome.as_ref().err().map(|error| error.code),
                refusal,
                "{status:?} active={active:?} expected={expected:?}"
            );
            if let Err(error) = outcome {
                assert_eq!(error.status, http::StatusCode::CONFLICT);
            }
        }
    }

    #[test]
    fn validate_marks_drafts_and_repeats_for_validated() {
        assert_eq!(validate_step(1, Draft), Ok(ValidateStep::Mark));
        assert_eq!(
            validate_step(1, Validated),
            Ok(ValidateStep::AlreadyValidated)
        );
        assert_eq!(
            validate_step(1, Active).map_err(|e| e.code),
            Err("version_active")
        );
        assert_eq!(
            validate_step(1, RolledBack).map_err(|e| e.code),
            Err("version_rolled_back")
        );
    }

    #[test]
    fn rollback_needs_an_active_version_and_the_expected_one() {
        assert_eq!(
            check_rollback("p", None, None).map_err(|e| e.code),
            Err("no_active_version")
        );
        assert_eq!(check_rollback("p", Some(4), None), Ok(4));
        assert_eq!(check_rollback("p", Some(4), Some(4)), Ok(4));
        assert_eq!(
            check_rollback("p", Some(4), Some(3)).map_err(|e| e.code),
            Err("active_version_changed")
        );
    }

    #[test]
    fn rollback_target_walks_the_history_backwards() {
        type History<'a> = &'a [(i64, VersionStatus)];
        let cases: [(History<'_>, i64, Option<i64>); 7] = [
            // 1 then 2 activated: back to 1.
            (&[(2, Active), (1, Validated)], 2, Some(1)),
            // Only one activation: nowhere to go.
            (&[(1, Active)], 1, None),
            (&[], 1, None),
            // 3 was rolled back to 2 earlier; 2 is active; the target skips 3.
            (
                &[(2, Active), (3, RolledBack), (2, Active), (1, Validated)],
                2,
                Some(1),
            ),
            // Re-activating the same version twice: skip every entry of the current one.
            (&[(5, Active), (5, Active), (4, Validated)], 5, Some(4)),
            // Everything earlier was rolled back.
            (&[(3, Active), (2, RolledBack), (1, RolledBack)], 3, None),
            // The newest eligible wins over older ones.
            (&[(9, Active), (6, Validated), (4, Validated)], 9, Some(6)),
        ];
        for (history, current, target) in cases {
            assert_eq!(rollback_target(history, current), target, "{history:?}");
        }
    }
}
