//! The pipeline's own notices (a file or rows quarantined): logged at error level with the
//! incident as JSON, where the log subscription hands them to `notify-slack`.

use lakehouse_io::alert::Incident;

/// The log message of a notice line; `notify-slack` reads the incident back from its field.
pub const NOTICE_MESSAGE: &str = "pipeline notice";

/// Logs each incident as one notice line.
pub fn log(incidents: &[Incident]) {
    for incident in incidents {
        match serde_json::to_string(incident) {
            Ok(json) => tracing::error!(incident = %json, "{}", NOTICE_MESSAGE),
            Err(e) => tracing::error!(error = %e, title = %incident.title, "notice not serializable"),
        }
    }
}
