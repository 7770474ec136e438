//! Schedule texts (ours and Cloud Custodian's off-hours tags): parsing never panics, and a
//! parsed schedule answers for any instant.
#![no_main]

use chrono::{DateTime, NaiveDate, Utc};
use libfuzzer_sys::fuzz_target;

#[path = "../../functions/endpoint-scheduler/src/schedule.rs"]
#[allow(dead_code)]
mod schedule;

#[path = "../../functions/endpoint-scheduler/src/custodian.rs"]
#[allow(dead_code)]
mod custodian;

fuzz_target!(|data: &[u8]| {
    if data.len() < 8 {
        return;
    }
    let (clock, text) = data.split_at(8);
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    // Any instant between 1970 and ~2106, so DST edges of every year are reachable.
    let seconds = u64::from_le_bytes(clock.try_into().unwrap_or_default()) % 4_294_967_296;
    let now = DateTime::<Utc>::from_timestamp(seconds as i64, 0).unwrap_or_default();
    let holidays = [NaiveDate::from_ymd_opt(2026, 12, 25).unwrap_or_default()];
    if let Ok(parsed) = schedule::Schedule::parse(text, chrono_tz::Tz::Europe__Madrid) {
        let _ = parsed.state_at(now, &holidays);
        let _ = parsed.next_change_after(now, &holidays);
        let _ = parsed.to_string();
    }
    if let Ok(custodian::OffHours::Scheduled(parsed)) = custodian::parse(text) {
        let _ = parsed.state_at(now, &holidays);
        let _ = parsed.next_change_after(now, &holidays);
    }
});
