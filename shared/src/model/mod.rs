//! Plain data and pure decisions every function shares: no AWS call in here.

pub mod arn;
pub mod lifecycle;
pub mod pricing;
pub mod resource_kind;
pub mod snapshot;
pub mod tags;
