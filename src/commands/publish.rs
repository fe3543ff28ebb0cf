//! `tasctl publish TOPIC [PAYLOAD] [--qos N] [--retain]`: one message to any topic, for the
//! other things people keep on their broker (home-automation plugins, OctoPrint), with the
//! same broker settings and profile as every other command. At QoS 1 and 2 the command ends
//! once the broker has acknowledged it; `--retain` with no payload clears a retained message.

use std::fmt;

use anyhow::Result;
use serde::Serialize;

use crate::engine;
use crate::mqtt::{self, Session};
use crate::output::escape;

/// What was published.
#[derive(Debug, Serialize)]
pub struct Published {
    pub topic: String,
    pub bytes: usize,
    pub qos: u8,
    pub retain: bool,
    /// The broker said it has it (QoS 1/2); at QoS 0 nothing is confirmed.
    pub acknowledged: bool,
}

/// Refuses what no broker takes, before connecting.
pub fn check(topic: &str, payload: &[u8]) -> Result<()> {
    mqtt::check_message(topic, payload.len())
}

/// `--dry-run`: the one message.
pub fn dry_run(topic: &str, payload: &[u8], retain: bool) -> engine::DryRun {
    engine::DryRun {
        publish: vec![engine::DryPublish {
            topic: topic.to_string(),
            payload: String::from_utf8_lossy(payload).into_owned(),
            retain,
        }],
        expect: Vec::new(),
        open_groups: Vec::new(),
        subscribe: Vec::new(),
        wait: None,
        then: None,
        also_heard_by: Vec::new(),
    }
}

pub async fn run(
    session: &mut Session,
    topic: &str,
    payload: Vec<u8>,
    qos: u8,
    retain: bool,
) -> Result<Published> {
    let bytes = payload.len();
    session.publish(topic, payload, retain).await?;
    // The acknowledgement is awaited by the goodbye, bounded by the connect timeout.
    Ok(Published {
        topic: topic.to_string(),
        bytes,
        qos,
        retain,
        acknowledged: qos > 0,
    })
}

impl fmt::Display for Published {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match (self.retain, self.bytes) {
            (true, 0) => "cleared the retained message on".to_string(),
            (true, n) => format!("published {n} bytes, retained, to"),
            (false, n) => format!("published {n} bytes to"),
        };
        let how = if self.acknowledged {
            format!(" (QoS {}, acknowledged by the broker)", self.qos)
        } else {
            " (QoS 0: sent, not confirmed)".to_string()
        };
        writeln!(f, "{what} {}{how}", escape(&self.topic))
    }
}
