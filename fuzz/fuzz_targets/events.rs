//! Any JSON a trigger may carry: parsing never panics, and a CloudTrail call's resource is
//! either named or a typed error.
#![no_main]

use libfuzzer_sys::fuzz_target;

// The core crate's module paths, so the included files' `crate::` imports resolve without the
// AWS SDK.
#[path = "../../shared/src/model"]
mod model {
    #[allow(dead_code)]
    pub mod arn;
}

#[path = "../../shared/src/run"]
mod run {
    #[allow(dead_code)]
    pub mod budget;
    #[allow(dead_code)]
    pub mod report;
}

#[path = "../../shared/src/events/mod.rs"]
#[allow(dead_code)]
mod events;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    if let Ok(events::Trigger::ApiCall(call)) = events::Trigger::parse(&value) {
        let _ = call.resource();
    }
});
