//! The pure part of parking Studio apps: for each app of an opted-in space or user profile,
//! the schedule's decision and what the run saw give the step that converges it.
//!
//! - Outside the schedule, an InService app is parked: its spec is recorded in a snapshot
//!   (`prewarm: true`), then the app is deleted. The space or profile and its storage stay.
//! - At the start of the window, an app with a `prewarm: true` snapshot and no live app is
//!   created again with the recorded spec ("pre-warm"); the snapshot is then archived. Apps
//!   that were not running at park time have no snapshot and are not started.
//! - Canvas: a user's running Canvas app is closed outside the schedule (Canvas keeps the
//!   user's work) and never reopened: no snapshot is written.
//! - Within hours, with `STUDIO_IDLE_MINUTES` set, an app without user activity for that long
//!   is parked with `prewarm: false` (the snapshot records what was closed; it stays until
//!   the app is parked again, and is never started from).
//! - JupyterServer apps (the free Studio Classic system app) are left alone.
//! - A space runs one app at a time: if its user started another app before the window, the
//!   parked one is not started (it would fail); its snapshot is archived and a finding says so.
//! - An owner that opts out while its app is parked gets the app back at once; from then on
//!   the app is not ours to manage.

use chrono::{DateTime, Duration, Utc};
use sagekeeper_core::Severity;
use sagekeeper_core::model::pricing::PriceTable;
use sagekeeper_core::model::tags::Tags;
use sagekeeper_core::run::plan::Plan;
use sagekeeper_core::sagemaker::studio::{App, AppKey, AppSnapshot, AppSpec, OwnerKind};

use crate::model::StudioApp;
use crate::plan::{self, AppStep, Converge, Parked, Write};
use crate::policy::{Desired, Policy};

pub const CANVAS: &str = "Canvas";
/// Apps never parked: the free system app of Studio Classic (nothing to save), and the
/// RStudio server, which the domain's shared profile runs for every RStudio user at once.
const NEVER_PARKED: [&str; 2] = ["JupyterServer", "RStudioServerPro"];

/// Whether the app has had no user activity for `idle` (never, when the time is unknown: its
/// creation time says nothing about whether someone is working in it).
pub fn is_idle(app: &App, idle: Option<Duration>, now: DateTime<Utc>) -> bool {
    match (idle, app.last_user_activity) {
        (Some(idle), Some(last)) => now - last >= idle,
        _ => false,
    }
}

pub fn plan_app(
    app: &StudioApp,
    desired: Desired,
    idle: Option<Duration>,
    now: DateTime<Utc>,
) -> Converge<AppStep> {
    if NEVER_PARKED.contains(&app.key.app_type.as_str()) {
        return Converge::NoChange;
    }
    let canvas = app.key.app_type == CANVAS;
    let live = app.live.as_ref().filter(|a| a.is_live());
    let prewarm = app.snapshot.as_ref().is_some_and(|s| s.prewarm);
    let park = |prewarm: bool| {
        if canvas {
            Converge::Step(AppStep::CloseCanvas)
        } else if let Some(problem) = &app.snapshot_problem {
            Converge::Alert {
                severity: Severity::High,
                rule: "snapshot-unreadable",
                message: format!(
                    "{problem}: parking could overwrite a snapshot nobody has read, so the app stays up"
                ),
            }
        } else if prewarm && live.is_some_and(|l| l.spec.instance_type.is_none()) {
            Converge::Skip(
                "ListApps/DescribeApp give no instance type: started again, the app would run on \
                 the domain's default instead of its own"
                    .to_owned(),
            )
        } else {
            Converge::Step(AppStep::Park { prewarm })
        }
    };
    match (desired, live) {
        (Desired::Keep, _) => Converge::NoChange,
        (Desired::Parked, Some(live)) if live.is_in_service() => park(true),
        (Desired::Parked, Some(live)) => Converge::Skip(format!(
            "app is {}; only InService apps are parked",
            live.status
        )),
        (Desired::Parked, None) => Converge::NoChange,
        (Desired::Up, Some(live)) if live.status == "Failed" && prewarm => Converge::Alert {
            severity: Severity::High,
            rule: "prewarmed-app-failed",
            message: "the pre-warmed app is Failed; its snapshot is kept".to_owned(),
        },
        (Desired::Up, Some(live)) if live.is_in_service() && prewarm => {
            Converge::Step(AppStep::Archive)
        }
        (Desired::Up, Some(live)) if live.is_in_service() && is_idle(live, idle, now) => {
            park(false)
        }
        (Desired::Up, Some(_)) => Converge::NoChange,
        (Desired::Up, None) if prewarm && (app.owner_gone || app.space_taken_by.is_some()) => {
            Converge::Step(AppStep::Retire)
        }
        (Desired::Up, None) if prewarm => Converge::Step(AppStep::Prewarm),
        (Desired::Up, None) => Converge::NoChange,
    }
}

/// The snapshot a park writes, with the app's own tags (AWS reserves `aws:` keys to itself:
/// CreateApp would refuse them).
pub fn snapshot_of(
    app: &StudioApp,
    prewarm: bool,
    tags: &Tags,
    now: DateTime<Utc>,
    by: &str,
) -> AppSnapshot {
    AppSnapshot {
        format: sagekeeper_core::sagemaker::studio::APP_SNAPSHOT_FORMAT,
        app: app.key.clone(),
        spec: app
            .live
            .as_ref()
            .map(|l| l.spec.clone())
            .unwrap_or_default(),
        prewarm,
        tags: tags
            .iter()
            .filter(|(k, _)| !k.starts_with("aws:"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        parked_at: now,
        parked_by: by.to_owned(),
    }
}

/// The app in words: `JupyterLab app default of space lab`.
pub fn describe(key: &AppKey) -> String {
    let owner = match key.owner_kind {
        OwnerKind::Space => "space",
        OwnerKind::User => "user",
    };
    format!(
        "{} app {} of {owner} {}",
        key.app_type, key.app_name, key.owner
    )
}

/// The detail of `delete-app` and `create-app`: the app and what it runs on.
pub fn app_detail(key: &AppKey, spec: &AppSpec) -> String {
    let mut detail = describe(key);
    if let Some(instance) = &spec.instance_type {
        detail.push_str(&format!(" on {instance}"));
    }
    if let Some(image) = &spec.sagemaker_image_arn {
        detail.push_str(&format!(", image {image}"));
    }
    if let Some(lcc) = &spec.lifecycle_config_arn {
        detail.push_str(&format!(", lifecycle config {lcc}"));
    }
    detail
}

/// The detail of `close-canvas`: whose session was closed and what it cost per hour.
pub fn canvas_detail(key: &AppKey, prices: &PriceTable) -> String {
    format!(
        "Canvas session of user {} closed (domain {}), ~${:.2}/h",
        key.owner,
        key.domain_id,
        prices.canvas_session()
    )
}

fn opted_out_message(app: &StudioApp) -> String {
    let when = app
        .snapshot
        .as_ref()
        .map(|s| format!(" at {}", s.parked_at.format("%Y-%m-%d %H:%M UTC")))
        .unwrap_or_default();
    format!(
        "{} was parked{when}, and its {} no longer opts in: it is started again now and left alone from then on",
        describe(&app.key),
        app.key.owner_kind.arn_type()
    )
}

fn retire_message(app: &StudioApp) -> String {
    if app.owner_gone {
        return format!(
            "{} {} no longer exists: its parked {} app {} cannot be started; its snapshot is archived",
            app.key.owner_kind.arn_type(),
            app.key.owner,
            app.key.app_type,
            app.key.app_name
        );
    }
    let other = app
        .space_taken_by
        .as_ref()
        .map_or_else(|| "another app".to_owned(), describe);
    format!(
        "space {} runs {other} now, and a space runs one app at a time: the parked {} app {} is not started; its snapshot is archived",
        app.key.owner, app.key.app_type, app.key.app_name
    )
}

/// The Studio part of the run's plan: a step per app that needs one, skips and findings as
/// for endpoints, and what is already parked (for the savings).
pub fn plan_studio(
    apps: &[StudioApp],
    policy: &Policy<'_>,
    idle_minutes: Option<u32>,
    prices: &PriceTable,
    now: DateTime<Utc>,
    plan: &mut Plan<Write>,
    parked: &mut Parked,
) {
    let idle = idle_minutes.map(|m| Duration::minutes(i64::from(m)));
    for app in apps {
        let desired = if app.owner_gone {
            Desired::Up
        } else if app.opted_out {
            plan.finding(
                &app.arn,
                "opted-out-while-parked",
                Severity::Low,
                opted_out_message(app),
            );
            Desired::Up
        } else {
            match plan::decide(plan, &app.arn, &app.tags, false, policy, now) {
                Some((desired, _)) => desired,
                None => continue,
            }
        };
        let idle = idle.filter(|_| !app.opted_out && !app.owner_gone);
        match plan_app(app, desired, idle, now) {
            Converge::NoChange => {
                let not_running = app.live.as_ref().is_none_or(|l| !l.is_live());
                if let Some(snapshot) = &app.snapshot
                    && snapshot.prewarm
                    && not_running
                    && desired == Desired::Parked
                {
                    parked.studio_app(&snapshot.spec, prices);
                }
            }
            Converge::Step(step) => {
                if step == AppStep::Retire {
                    plan.finding(
                        &app.arn,
                        "prewarm-skipped",
                        Severity::Low,
                        retire_message(app),
                    );
                }
                let write = Write::StudioApp {
                    app: Box::new(app.clone()),
                    step,
                };
                plan.write(&app.arn, write);
            }
            converge => plan::not_converged(plan, &app.arn, converge),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn key(app_type: &str, owner_kind: OwnerKind) -> AppKey {
        AppKey {
            domain_id: "d-ml".into(),
            owner_kind,
            owner: "lab".into(),
            app_type: app_type.into(),
            app_name: "default".into(),
        }
    }

    fn spec() -> AppSpec {
        AppSpec {
            instance_type: Some("ml.t3.large".into()),
            sagemaker_image_arn: Some("arn:image".into()),
            sagemaker_image_version_arn: None,
            sagemaker_image_version_alias: Some("3.2".into()),
            lifecycle_config_arn: Some("arn:lcc".into()),
        }
    }

    fn live(app_type: &str, status: &str, active_at: DateTime<Utc>) -> App {
        App {
            key: key(app_type, OwnerKind::Space),
            arn: Some("arn:app".into()),
            status: status.into(),
            spec: spec(),
            created: Some(active_at),
            last_user_activity: Some(active_at),
        }
    }

    fn app(live: Option<App>, snapshot: Option<bool>) -> StudioApp {
        let key = live
            .as_ref()
            .map_or_else(|| key("JupyterLab", OwnerKind::Space), |l| l.key.clone());
        StudioApp {
            snapshot: snapshot.map(|prewarm| AppSnapshot {
                format: 1,
                app: key.clone(),
                spec: spec(),
                prewarm,
                tags: Tags::new(),
                parked_at: night(),
                parked_by: "endpoint-scheduler".into(),
            }),
            key,
            arn: "arn:app".into(),
            tags: Tags::from([("AutoShutdown".to_owned(), "true".to_owned())]),
            live,
            snapshot_etag: None,
            snapshot_problem: None,
            opted_out: false,
            owner_gone: false,
            space_taken_by: None,
        }
    }

    fn night() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 18, 23, 0, 0).unwrap()
    }

    fn noon() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 19, 12, 0, 0).unwrap()
    }

    const HOUR: Option<Duration> = Some(Duration::hours(1));

    /// The Studio plan of one app under "Mon-Fri 08:00-19:00 UTC".
    fn plan_for(app: &StudioApp, idle_minutes: Option<u32>, now: DateTime<Utc>) -> Plan<Write> {
        let schedule = crate::schedule::Schedule::parse("Mon-Fri 08:00-19:00", chrono_tz::UTC)
            .expect("a valid schedule");
        let schedules = std::collections::BTreeMap::new();
        let policy = Policy {
            default_schedule: &schedule,
            schedules: &schedules,
            timezone: chrono_tz::UTC,
            holidays: &[],
        };
        let mut plan = Plan::default();
        let prices = PriceTable::default();
        let mut parked = Parked::default();
        plan_studio(
            std::slice::from_ref(app),
            &policy,
            idle_minutes,
            &prices,
            now,
            &mut plan,
            &mut parked,
        );
        plan
    }

    #[test]
    fn running_apps_are_parked_at_night_and_prewarmed_in_the_morning() {
        let running = app(Some(live("JupyterLab", "InService", noon())), None);
        let step = |a: &StudioApp, d| plan_app(a, d, None, noon());
        assert_eq!(
            step(&running, Desired::Parked),
            Converge::Step(AppStep::Park { prewarm: true })
        );
        // A crash between the snapshot and DeleteApp: parked again (the snapshot is kept).
        let half = app(Some(live("CodeEditor", "InService", noon())), Some(true));
        assert_eq!(
            step(&half, Desired::Parked),
            Converge::Step(AppStep::Park { prewarm: true })
        );
        let mut deleted = live("JupyterLab", "Deleted", noon());
        let parked = app(Some(deleted.clone()), Some(true));
        assert_eq!(step(&parked, Desired::Parked), Converge::NoChange);
        assert_eq!(step(&parked, Desired::Up), Converge::Step(AppStep::Prewarm));
        assert_eq!(
            step(&app(None, Some(true)), Desired::Up),
            Converge::Step(AppStep::Prewarm)
        );
        deleted.status = "InService".into();
        let prewarmed = app(Some(deleted), Some(true));
        assert_eq!(
            step(&prewarmed, Desired::Up),
            Converge::Step(AppStep::Archive)
        );
        // Control: an app that was not running has no snapshot and is not started.
        assert_eq!(
            step(
                &app(Some(live("JupyterLab", "Deleted", noon())), None),
                Desired::Up
            ),
            Converge::NoChange
        );
        assert_eq!(step(&running, Desired::Keep), Converge::NoChange);
    }

    #[test]
    fn apps_that_are_not_in_service_or_free_are_left_alone() {
        let pending = app(Some(live("JupyterLab", "Pending", noon())), None);
        assert!(matches!(
            plan_app(&pending, Desired::Parked, None, noon()),
            Converge::Skip(reason) if reason.contains("Pending")
        ));
        let system = app(Some(live("JupyterServer", "InService", noon())), None);
        assert_eq!(
            plan_app(&system, Desired::Parked, None, noon()),
            Converge::NoChange
        );
        let mut unknown = app(Some(live("JupyterLab", "InService", noon())), None);
        unknown.snapshot_problem = Some("its snapshot could not be read".into());
        assert!(matches!(
            plan_app(&unknown, Desired::Parked, None, noon()),
            Converge::Alert {
                rule: "snapshot-unreadable",
                ..
            }
        ));
    }

    #[test]
    fn canvas_is_closed_outside_hours_and_never_reopened() {
        let mut canvas = app(Some(live(CANVAS, "InService", noon())), None);
        canvas.key.owner_kind = OwnerKind::User;
        assert_eq!(
            plan_app(&canvas, Desired::Parked, None, night()),
            Converge::Step(AppStep::CloseCanvas)
        );
        assert_eq!(
            plan_app(&canvas, Desired::Up, None, noon()),
            Converge::NoChange
        );
        canvas.live.as_mut().unwrap().status = "Deleted".into();
        assert_eq!(
            plan_app(&canvas, Desired::Up, None, noon()),
            Converge::NoChange
        );
        assert_eq!(
            canvas_detail(&canvas.key, &PriceTable::default()),
            "Canvas session of user lab closed (domain d-ml), ~$1.90/h"
        );
    }

    #[test]
    fn the_shared_rstudio_server_and_the_system_app_are_never_parked() {
        for app_type in ["RStudioServerPro", "JupyterServer"] {
            let shared = app(Some(live(app_type, "InService", noon())), None);
            assert_eq!(
                plan_app(&shared, Desired::Parked, None, noon()),
                Converge::NoChange,
                "{app_type}"
            );
        }
        // Control: a JupyterLab app in the same state is parked.
        let lab = app(Some(live("JupyterLab", "InService", noon())), None);
        assert_eq!(
            plan_app(&lab, Desired::Parked, None, noon()),
            Converge::Step(AppStep::Park { prewarm: true })
        );
    }

    #[test]
    fn idle_apps_are_parked_within_hours_without_prewarm() {
        let two_hours_ago = noon() - Duration::hours(2);
        let idle = app(Some(live("JupyterLab", "InService", two_hours_ago)), None);
        assert_eq!(
            plan_app(&idle, Desired::Up, HOUR, noon()),
            Converge::Step(AppStep::Park { prewarm: false })
        );
        // Controls: idle shutdown off, or an app used recently.
        assert_eq!(
            plan_app(&idle, Desired::Up, None, noon()),
            Converge::NoChange
        );
        let busy = app(Some(live("JupyterLab", "InService", noon())), None);
        assert_eq!(
            plan_app(&busy, Desired::Up, HOUR, noon()),
            Converge::NoChange
        );
        // No recorded activity is not idleness, however old the app.
        let mut unknown = live("JupyterLab", "InService", two_hours_ago);
        unknown.last_user_activity = None;
        assert_eq!(
            plan_app(&app(Some(unknown), None), Desired::Up, HOUR, noon()),
            Converge::NoChange
        );
        // Parked for idleness: not pre-warmed.
        let closed = app(
            Some(live("JupyterLab", "Deleted", two_hours_ago)),
            Some(false),
        );
        assert_eq!(
            plan_app(&closed, Desired::Up, HOUR, noon()),
            Converge::NoChange
        );
    }

    #[test]
    fn a_space_that_runs_another_app_gets_no_prewarm() {
        let mut parked = app(Some(live("JupyterLab", "Deleted", noon())), Some(true));
        parked.space_taken_by = Some(key("CodeEditor", OwnerKind::Space));
        assert_eq!(
            plan_app(&parked, Desired::Up, None, noon()),
            Converge::Step(AppStep::Retire)
        );
        let plan = plan_for(&parked, None, noon());
        assert_eq!(plan.findings.len(), 1);
        assert_eq!(plan.findings[0].rule, "prewarm-skipped");
        assert!(
            plan.findings[0]
                .message
                .contains("runs CodeEditor app default"),
            "{}",
            plan.findings[0].message
        );
        // Its space deleted since: archived too, at once.
        parked.space_taken_by = None;
        parked.owner_gone = true;
        let plan = plan_for(&parked, None, night());
        assert!(matches!(
            plan.writes.as_slice(),
            [(
                _,
                Write::StudioApp {
                    step: AppStep::Retire,
                    ..
                }
            )]
        ));
        assert!(
            plan.findings[0].message.contains("no longer exists"),
            "{:?}",
            plan.findings
        );
        // Control: the space is free.
        parked.owner_gone = false;
        assert_eq!(
            plan_app(&parked, Desired::Up, None, noon()),
            Converge::Step(AppStep::Prewarm)
        );
    }

    #[test]
    fn an_app_without_an_instance_type_is_not_parked_for_the_night() {
        let mut running = live("JupyterLab", "InService", noon());
        running.spec.instance_type = None;
        let unknown = app(Some(running.clone()), None);
        assert!(matches!(
            plan_app(&unknown, Desired::Parked, None, night()),
            Converge::Skip(reason) if reason.contains("no instance type")
        ));
        // Closed for idleness it is not started again, so its type does not matter.
        running.last_user_activity = Some(noon() - Duration::hours(2));
        assert_eq!(
            plan_app(&app(Some(running), None), Desired::Up, HOUR, noon()),
            Converge::Step(AppStep::Park { prewarm: false })
        );
        // Control: with its type, parked.
        let known = app(Some(live("JupyterLab", "InService", noon())), None);
        assert_eq!(
            plan_app(&known, Desired::Parked, None, night()),
            Converge::Step(AppStep::Park { prewarm: true })
        );
    }

    #[test]
    fn an_owner_that_opts_out_gets_its_parked_app_back_at_once() {
        let mut parked = app(Some(live("JupyterLab", "Deleted", night())), Some(true));
        parked.opted_out = true;
        let plan = plan_for(&parked, Some(60), night());
        assert_eq!(plan.findings[0].rule, "opted-out-while-parked");
        assert!(matches!(
            plan.writes.as_slice(),
            [(
                _,
                Write::StudioApp {
                    step: AppStep::Prewarm,
                    ..
                }
            )]
        ));
        // Control: still opted in, the night keeps it parked.
        parked.opted_out = false;
        let plan = plan_for(&parked, Some(60), night());
        assert!(plan.writes.is_empty());
        assert!(plan.findings.is_empty());
    }

    #[test]
    fn a_snapshot_keeps_the_apps_own_tags_but_not_aws_ones() {
        let running = app(Some(live("JupyterLab", "InService", noon())), None);
        let tags = Tags::from([
            ("project".to_owned(), "fraud".to_owned()),
            ("aws:cloudformation:stack-name".to_owned(), "x".to_owned()),
        ]);
        let snapshot = snapshot_of(&running, true, &tags, night(), "endpoint-scheduler");
        assert_eq!(
            snapshot.tags,
            Tags::from([("project".to_owned(), "fraud".to_owned())])
        );
        assert_eq!(
            snapshot.spec.sagemaker_image_version_alias.as_deref(),
            Some("3.2")
        );
        assert_eq!(snapshot.format, 2);
    }

    #[test]
    fn details_name_the_app_and_what_it_runs_on() {
        assert_eq!(
            app_detail(&key("JupyterLab", OwnerKind::Space), &spec()),
            "JupyterLab app default of space lab on ml.t3.large, image arn:image, lifecycle config arn:lcc"
        );
    }
}
