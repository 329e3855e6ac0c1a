//! Alerts: an incident (what failed, where, since when) becomes one concise Slack message, or a
//! line on stderr when no webhook is configured. A burst of the same incident becomes one message
//! with a count.

pub mod slack;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::Result;
use crate::stages::{IngestReport, TableRefine};
pub use slack::Slack;

/// What kind of trouble an incident reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentKind {
    /// A CloudWatch alarm went into ALARM.
    Alarm,
    /// A function logged an error.
    ErrorLog,
    /// An invocation failed after all its retries.
    FailedInvocation,
    /// A file or rows were moved to quarantine.
    Quarantine,
}

/// Something that went wrong and deserves a person's attention.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub kind: IncidentKind,
    /// What failed, in a few words: the alarm's name, the failing function, the quarantined table.
    pub title: String,
    /// Why, as the source of the incident says it.
    pub detail: String,
    pub function: Option<String>,
    pub table: Option<String>,
    pub file: Option<String>,
    pub since: DateTime<Utc>,
    /// Where to look: the alarm or the log group in the AWS console.
    pub link: Option<String>,
    /// How many times it happened (rows, for a quarantine of rows).
    pub count: u64,
}

impl Incident {
    pub fn new(kind: IncidentKind, title: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            kind,
            title: title.into(),
            detail: detail.into(),
            function: None,
            table: None,
            file: None,
            since: Utc::now(),
            link: None,
            count: 1,
        }
    }

    /// Incidents with the same key are the same trouble happening again.
    fn key(&self) -> String {
        let part = |p: &Option<String>| p.clone().unwrap_or_default();
        format!(
            "{:?}|{}|{}|{}|{}|{}",
            self.kind,
            self.title,
            part(&self.function),
            part(&self.table),
            part(&self.file),
            self.detail
        )
    }

    /// The Slack message: a fallback text and Block Kit blocks.
    pub fn slack_message(&self) -> Value {
        let icon = match self.kind {
            IncidentKind::Alarm => ":rotating_light:",
            IncidentKind::ErrorLog | IncidentKind::FailedInvocation => ":x:",
            IncidentKind::Quarantine => ":warning:",
        };
        let count = match self.kind {
            IncidentKind::Quarantine if self.file.is_none() => format!("{} rows", self.count),
            _ if self.count > 1 => format!("{} times", self.count),
            _ => "once".to_owned(),
        };
        let mut fields = vec![
            field("Where", &self.place()),
            field("Since", &self.since.format("%Y-%m-%d %H:%M:%S UTC").to_string()),
            field("Count", &count),
        ];
        if let Some(file) = &self.file {
            fields.push(field("File", &format!("`{file}`")));
        }
        let mut blocks = vec![
            json!({"type": "header", "text": {"type": "plain_text", "text": truncate(&self.title, 150)}}),
            json!({"type": "section", "fields": fields}),
            json!({"type": "section", "text": {"type": "mrkdwn", "text": truncate(&self.detail, 2900)}}),
        ];
        if let Some(link) = &self.link {
            blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": format!("<{link}|Open in the AWS console>")}]}));
        }
        json!({"text": format!("{icon} {} ({count}): {}", self.title, truncate(&self.detail, 200)), "blocks": blocks})
    }

    fn place(&self) -> String {
        let parts: Vec<String> = [("function", &self.function), ("table", &self.table)]
            .iter()
            .filter_map(|(what, value)| value.as_ref().map(|v| format!("{what} `{v}`")))
            .collect();
        if parts.is_empty() {
            "the lakehouse".to_owned()
        } else {
            parts.join(", ")
        }
    }

    /// One line for stderr, when no webhook is configured.
    pub fn line(&self) -> String {
        let file = self.file.as_ref().map(|f| format!(" file {f}")).unwrap_or_default();
        format!(
            "alert: {} ({}; {}{file}): {} [x{}]",
            self.title,
            self.place().replace('`', ""),
            self.since.format("%H:%M:%S"),
            self.detail,
            self.count
        )
    }
}

fn field(label: &str, value: &str) -> Value {
    json!({"type": "mrkdwn", "text": format!("*{label}*\n{value}")})
}

/// At most `max` characters (Slack rejects longer block texts).
fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max.saturating_sub(1)) {
        Some((at, _)) if text.chars().count() > max => format!("{}…", &text[..at]),
        _ => text.to_owned(),
    }
}

/// The quarantine incidents of an ingestion: one per quarantined file.
pub fn quarantined_files(report: &IngestReport, function: Option<&str>) -> Vec<Incident> {
    report
        .files_quarantined
        .iter()
        .map(|(file, reason)| {
            let table = file.split('/').next().unwrap_or_default().to_owned();
            Incident {
                function: function.map(str::to_owned),
                table: Some(table.clone()),
                file: Some(file.clone()),
                ..Incident::new(
                    IncidentKind::Quarantine,
                    format!("Landing file quarantined ({table})"),
                    reason.clone(),
                )
            }
        })
        .collect()
}

/// The quarantine incidents of a refine: one per table and rule, counting the rows.
pub fn quarantined_rows(report: &[TableRefine], function: Option<&str>) -> Vec<Incident> {
    report
        .iter()
        .flat_map(|table| {
            table.quarantined_by_rule.iter().map(move |(rule, rows)| Incident {
                function: function.map(str::to_owned),
                table: Some(table.table.clone()),
                count: *rows,
                ..Incident::new(
                    IncidentKind::Quarantine,
                    format!("Rows quarantined in {}", table.table),
                    format!(
                        "{rows} rows break the rule `{rule}`; they are kept in quarantine/{} with the rule",
                        table.table
                    ),
                )
            })
        })
        .collect()
}

/// Where alerts go.
pub enum Sink {
    Slack(Slack),
    Stderr,
}

/// What a round of notifications did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Notified {
    /// Messages posted (or printed).
    pub sent: u64,
    /// Incidents folded into an earlier message of the same trouble.
    pub suppressed: u64,
}

/// Sends incidents, one message per distinct trouble: repeats within a batch are counted into
/// one message, and repeats within `window` of the last message are held back and counted into
/// the next message for that trouble. The memory lives as long as the process (a warm Lambda).
pub struct Notifier {
    sink: Sink,
    window: Duration,
    recent: Mutex<HashMap<String, Recent>>,
}

struct Recent {
    sent_at: Instant,
    held_back: u64,
}

impl Notifier {
    pub fn new(sink: Sink, window: Duration) -> Self {
        Self {
            sink,
            window,
            recent: Mutex::new(HashMap::new()),
        }
    }

    /// A webhook when `webhook` is given, stderr otherwise.
    pub fn to_webhook_or_stderr(webhook: Option<String>) -> Result<Self> {
        let sink = match webhook {
            Some(url) => Sink::Slack(Slack::new(url)?),
            None => Sink::Stderr,
        };
        Ok(Self::new(sink, Duration::from_secs(300)))
    }

    pub async fn notify(&self, incidents: Vec<Incident>) -> Result<Notified> {
        let mut outcome = Notified::default();
        for incident in fold(incidents) {
            let Some(incident) = self.admit(incident) else {
                outcome.suppressed += 1;
                continue;
            };
            match &self.sink {
                Sink::Slack(slack) => slack.post(&incident.slack_message()).await?,
                Sink::Stderr => eprintln!("{}", incident.line()),
            }
            outcome.sent += 1;
        }
        Ok(outcome)
    }

    /// The incident to send now, with the repeats held back since the last message added to its
    /// count; `None` when a message about the same trouble went out within the window.
    fn admit(&self, mut incident: Incident) -> Option<Incident> {
        let mut recent = self.recent.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let key = incident.key();
        match recent.get_mut(&key) {
            Some(seen) if seen.sent_at.elapsed() < self.window => {
                seen.held_back += incident.count;
                None
            }
            seen => {
                incident.count += seen.map_or(0, |s| s.held_back);
                recent.insert(
                    key,
                    Recent {
                        sent_at: Instant::now(),
                        held_back: 0,
                    },
                );
                Some(incident)
            }
        }
    }
}

/// Incidents of the same trouble in one batch become one, with the counts added and the
/// earliest time kept.
fn fold(incidents: Vec<Incident>) -> Vec<Incident> {
    let mut folded: Vec<Incident> = Vec::new();
    for incident in incidents {
        match folded.iter_mut().find(|f| f.key() == incident.key()) {
            Some(same) => {
                same.count += incident.count;
                same.since = same.since.min(incident.since);
            }
            None => folded.push(incident),
        }
    }
    folded
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alarm() -> Incident {
        Incident::new(
            IncidentKind::Alarm,
            "lakehouse-dev-write-silver-errors",
            "Threshold crossed",
        )
    }

    #[tokio::test]
    async fn repeats_in_a_batch_and_within_the_window_make_one_message() {
        let notifier = Notifier::new(Sink::Stderr, Duration::from_secs(60));
        let first = notifier.notify(vec![alarm(), alarm(), alarm()]).await.unwrap();
        assert_eq!(first, Notified { sent: 1, suppressed: 0 });
        let again = notifier.notify(vec![alarm()]).await.unwrap();
        assert_eq!(again, Notified { sent: 0, suppressed: 1 });
        let other = Incident::new(IncidentKind::Alarm, "lakehouse-dev-dlq-depth", "Threshold crossed");
        assert_eq!(notifier.notify(vec![other]).await.unwrap().sent, 1);
    }

    #[tokio::test]
    async fn held_back_repeats_are_counted_into_the_next_message() {
        let notifier = Notifier::new(Sink::Stderr, Duration::ZERO);
        let mut batch = vec![alarm(), alarm()];
        assert_eq!(fold(std::mem::take(&mut batch))[0].count, 2);
        let notifier_with_window = Notifier::new(Sink::Stderr, Duration::from_millis(30));
        notifier_with_window.notify(vec![alarm()]).await.unwrap();
        notifier_with_window.notify(vec![alarm(), alarm()]).await.unwrap();
        std::thread::sleep(Duration::from_millis(40));
        let admitted = notifier_with_window.admit(alarm()).unwrap();
        assert_eq!(admitted.count, 3, "the two held back, and this one");
        assert!(notifier.admit(alarm()).is_some());
    }

    #[test]
    fn long_details_are_cut_to_what_slack_accepts() {
        let long = Incident::new(IncidentKind::ErrorLog, "t", "é".repeat(5000));
        let message = long.slack_message();
        let detail = message["blocks"][2]["text"]["text"].as_str().unwrap();
        assert_eq!(detail.chars().count(), 2900);
        assert!(detail.ends_with('…'));
    }
}
