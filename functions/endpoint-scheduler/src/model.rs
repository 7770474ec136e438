//! What a run observed, as plain data: the opted-in endpoints (live or parked, with their
//! snapshots), notebook instances and Studio apps (running or parked, with their snapshots).

use sagekeeper_core::autoscaling::Limits;
use sagekeeper_core::model::snapshot::EndpointSnapshot;
use sagekeeper_core::model::tags::Tags;
use sagekeeper_core::s3::state::Expect;
use sagekeeper_core::sagemaker::endpoints::{Endpoint, EndpointConfig};
use sagekeeper_core::sagemaker::inference_components::InferenceComponent;
use sagekeeper_core::sagemaker::notebooks::Notebook;
use sagekeeper_core::sagemaker::studio::{App, AppKey, AppSnapshot};

/// The tag that opts a resource in (`true`) or out (`false`).
pub const OPT_IN_TAG: &str = "AutoShutdown";

#[derive(Debug, Default)]
pub struct Observed {
    pub endpoints: Vec<EndpointState>,
    pub notebooks: Vec<(Notebook, Tags)>,
    pub studio: Vec<StudioApp>,
}

/// What a run saw of one endpoint, live or parked.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointState {
    pub name: String,
    pub arn: String,
    /// Live tags, or the snapshot's when the endpoint is parked.
    pub tags: Tags,
    pub live: Option<Endpoint>,
    /// The live endpoint's configuration, or the snapshot's when parked; `None` when it no
    /// longer exists.
    pub config: Option<EndpointConfig>,
    /// Components hosted on an inference-component endpoint (empty otherwise).
    pub components: Vec<InferenceComponent>,
    /// The variants' scaling limits of a live asynchronous endpoint (empty otherwise): held
    /// at zero when parked.
    pub scaling_limits: Vec<Limits>,
    pub snapshot: Option<EndpointSnapshot>,
    /// The version (ETag) `snapshot` was read at: a new snapshot replaces only that version.
    pub snapshot_etag: Option<String>,
    /// Why the endpoint's snapshot is not known (the state bucket could not be listed, or its
    /// snapshot could not be read or is of an unknown format): it must then not be parked,
    /// or a snapshot nobody has read would be overwritten.
    pub snapshot_problem: Option<String>,
}

impl EndpointState {
    /// The condition a new snapshot of this endpoint is written under: there was none, or
    /// it is still the one this run read.
    pub fn snapshot_expect(&self) -> Expect {
        match &self.snapshot_etag {
            Some(etag) => Expect::Version(etag.clone()),
            None => Expect::Absent,
        }
    }
}

/// What a run saw of one Studio app of an opted-in space or user profile: running, parked
/// (a snapshot and no live app), or both.
#[derive(Debug, Clone, PartialEq)]
pub struct StudioApp {
    pub key: AppKey,
    /// The app's ARN (what the report names).
    pub arn: String,
    /// The domain's tags overlaid with the space's or user profile's own: what the schedule
    /// is decided from.
    pub tags: Tags,
    /// The app as ListApps/DescribeApp show it; `None` when none is listed.
    pub live: Option<App>,
    pub snapshot: Option<AppSnapshot>,
    /// The version (ETag) `snapshot` was read at.
    pub snapshot_etag: Option<String>,
    /// Why the app's snapshot is not known: it must then not be parked.
    pub snapshot_problem: Option<String>,
    /// The space or user profile no longer opts in, but the app was parked by us: it is
    /// started again and left alone from then on.
    pub opted_out: bool,
    /// The space or user profile no longer exists: a parked app of it cannot be started.
    pub owner_gone: bool,
    /// Another live app of the same space (a space runs one app at a time).
    pub space_taken_by: Option<AppKey>,
}

impl StudioApp {
    pub fn snapshot_expect(&self) -> Expect {
        match &self.snapshot_etag {
            Some(etag) => Expect::Version(etag.clone()),
            None => Expect::Absent,
        }
    }
}
