//! The triggers a function accepts, as one type: the core refuses every other kind (a typed
//! error, no AWS call) before the function runs, so a function matches only what it handles.

use serde_json::Value;

use super::{AlarmChange, ApiCall, EventError, Schedule, Trigger, TriggerKind};

/// Parses `event` into what `function` accepts, with the trigger's label for the report.
pub fn accept<A: Accepted>(function: &str, event: &Value) -> Result<(String, A), EventError> {
    let trigger = Trigger::parse(event)?;
    let (label, kind) = (trigger.label(), trigger.kind());
    A::accept(trigger)
        .map(|accepted| (label, accepted))
        .ok_or_else(|| EventError::not_accepted(function, kind, A::KINDS))
}

pub trait Accepted: Sized {
    const KINDS: &'static [TriggerKind];
    /// `None` for every kind not in `KINDS`.
    fn accept(trigger: Trigger) -> Option<Self>;
}

impl Accepted for Schedule {
    const KINDS: &'static [TriggerKind] = &[TriggerKind::Schedule];
    fn accept(trigger: Trigger) -> Option<Self> {
        match trigger {
            Trigger::Schedule(schedule) => Some(schedule),
            _ => None,
        }
    }
}

impl Accepted for AlarmChange {
    const KINDS: &'static [TriggerKind] = &[TriggerKind::Alarm];
    fn accept(trigger: Trigger) -> Option<Self> {
        match trigger {
            Trigger::Alarm(alarm) => Some(*alarm),
            _ => None,
        }
    }
}

/// A scheduled sweep of everything, or one CloudTrail API call about one resource.
#[derive(Debug, Clone, PartialEq)]
pub enum SweepOrCall {
    Sweep(Schedule),
    Call(Box<ApiCall>),
}

impl Accepted for SweepOrCall {
    const KINDS: &'static [TriggerKind] = &[TriggerKind::Schedule, TriggerKind::ApiCall];
    fn accept(trigger: Trigger) -> Option<Self> {
        match trigger {
            Trigger::Schedule(schedule) => Some(SweepOrCall::Sweep(schedule)),
            Trigger::ApiCall(call) => Some(SweepOrCall::Call(call)),
            Trigger::Alarm(_) => None,
        }
    }
}
