//! Cloud Custodian's off-hours tag (`maid_offhours`), read the way Custodian's `offhour` and
//! `onhour` filters read it (`c7n/filters/offhours.py`) with their default settings, so teams
//! can move from Custodian without retagging:
//!
//! - `off=(M-F,19);on=(M-F,7);tz=pt`, or lists `off=[(M-F,21),(U,18)];on=[(M-F,6),(U,10)]`:
//!   days `M T W H F S U` (H is Thursday, U Sunday), a day or a range (`F-M` wraps), whole
//!   hours 0-23. Case does not matter; spaces are tolerated.
//! - A missing `off` or `on` falls back to Custodian's default (off at 19, on at 7, Monday to
//!   Friday), as its other filter would; `off=disabled` / `on=disabled` turns that side off.
//! - A value with no `off`, `on` or `tz` (empty, `on`, `true`, free text) means the default
//!   schedule; `tz=` alone changes only its zone.
//! - `off` opts the resource out: it is left alone.
//! - Zones are Custodian's aliases (`pt`, `et`, ...) or IANA names in any case; default `et`.
//! - Escapes for services that forbid punctuation in tag values (`u28` for `(` ...) are undone.
//!
//! Custodian acts only during the exact hour of a transition; here the latest transition sets
//! the state, which is the same in steady state and also catches up on missed runs.

use std::collections::BTreeSet;

use chrono::Weekday;
use chrono_tz::Tz;

use crate::schedule::{Schedule, Switch, Transition, zone_named};

pub const DEFAULT_ZONE_ALIAS: &str = "et";
const DEFAULT_OFF_HOUR: u32 = 19;
const DEFAULT_ON_HOUR: u32 = 7;
const DISABLED: &str = "disabled";
const EXAMPLE: &str = "off=(M-F,19);on=(M-F,7);tz=pt";

/// `Time.TZ_ALIASES` in Custodian's `c7n/filters/offhours.py`.
const ZONE_ALIASES: &[(&str, Tz)] = &[
    ("pdt", Tz::America__Los_Angeles),
    ("pt", Tz::America__Los_Angeles),
    ("pst", Tz::America__Los_Angeles),
    ("ast", Tz::America__Phoenix),
    ("at", Tz::America__Phoenix),
    ("est", Tz::America__New_York),
    ("edt", Tz::America__New_York),
    ("et", Tz::America__New_York),
    ("cst", Tz::America__Chicago),
    ("cdt", Tz::America__Chicago),
    ("ct", Tz::America__Chicago),
    ("mst", Tz::America__Denver),
    ("mdt", Tz::America__Denver),
    ("mt", Tz::America__Denver),
    ("gmt", Tz::Etc__GMT),
    ("gt", Tz::Etc__GMT),
    ("bst", Tz::Europe__London),
    ("ist", Tz::Europe__Dublin),
    ("cet", Tz::Europe__Berlin),
    ("it", Tz::Asia__Kolkata),
    ("jst", Tz::Asia__Tokyo),
    ("kst", Tz::Asia__Seoul),
    ("sgt", Tz::Asia__Singapore),
    ("aet", Tz::Australia__Sydney),
    ("brt", Tz::America__Sao_Paulo),
    ("nzst", Tz::Pacific__Auckland),
    ("utc", Tz::Etc__UTC),
];

/// Custodian's escapes for tag values that may not contain punctuation, in its order.
const ESCAPES: &[(&str, &str)] = &[
    ("u28", "("),
    ("u29", ")"),
    ("u5b", "["),
    ("u5d", "]"),
    ("u2c", ","),
    ("u3b", ";"),
    ("u3d", "="),
    ("u2f", "/"),
    ("u2d", "-"),
];

/// What a `maid_offhours` tag asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OffHours {
    /// `maid_offhours=off`: never park nor restore this resource.
    OptedOut,
    Scheduled(Schedule),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CustodianError {
    #[error(
        "{found:?} is not key=value: expected off=..., on=... and tz=... separated by ;, like \
         {EXAMPLE}"
    )]
    Component { found: String },
    #[error("unknown key {found:?}: expected off, on or tz, like {EXAMPLE}")]
    UnknownKey { found: String },
    #[error("{key} is given more than once: give each of off, on and tz at most once")]
    RepeatedKey { key: String },
    #[error(
        "{key}={found:?} is not a time specification: expected (days,hour) or a list \
         [(days,hour),...], like (M-F,19) or [(M-F,21),(U,18)], or {DISABLED}"
    )]
    Spec { key: &'static str, found: String },
    #[error(
        "{found:?} is not a day: expected one of M, T, W, H, F, S, U (H is Thursday, U Sunday) \
         or a range like M-F"
    )]
    Days { found: String },
    #[error("{found:?} is not an hour: expected a whole hour from 0 to 23")]
    Hour { found: String },
    #[error(
        "tz={found:?} is not a time zone: expected a Cloud Custodian alias (pt, mt, ct, et, \
         gmt, utc, cet, ...) or an IANA name like america/los_angeles"
    )]
    Zone { found: String },
    #[error("on and off are both at {day} {hour}:00: a resource cannot be both")]
    Conflict { day: Weekday, hour: u32 },
    #[error(
        "off={DISABLED} and on={DISABLED} leave nothing to schedule: to leave the resource \
         alone, tag it maid_offhours=off"
    )]
    NothingScheduled,
}

/// Reads a `maid_offhours` tag value.
pub fn parse(value: &str) -> Result<OffHours, CustodianError> {
    let value = normalize(value);
    if value == "off" {
        return Ok(OffHours::OptedOut);
    }
    let parts = Parts::split(&value)?;
    let zone = parse_zone(parts.tz.unwrap_or_default())?;
    let off = parse_side("off", parts.off, DEFAULT_OFF_HOUR)?;
    let on = parse_side("on", parts.on, DEFAULT_ON_HOUR)?;
    if off.is_empty() && on.is_empty() {
        return Err(CustodianError::NothingScheduled);
    }
    let transitions = transitions(&off, &on)?;
    let description = format!("off={};on={}", describe(&off), describe(&on));
    Ok(OffHours::Scheduled(Schedule::from_transitions(
        description,
        zone,
        transitions,
    )))
}

/// Lower case, escapes undone, the quotes some people copy from the documentation removed,
/// and spaces next to punctuation dropped (`off = (M-F, 19)`).
fn normalize(value: &str) -> String {
    let mut value = value.to_lowercase();
    for (escape, character) in ESCAPES {
        value = value.replace(escape, character);
    }
    let unquoted = value
        .trim()
        .trim_matches('\'')
        .trim_matches('"')
        .trim()
        .to_owned();
    drop_spaces_near_punctuation(&unquoted)
}

fn drop_spaces_near_punctuation(text: &str) -> String {
    const PUNCTUATION: [char; 8] = ['=', ',', '-', '(', ')', '[', ']', ';'];
    let mut tight = String::with_capacity(text.len());
    let mut space_pending = false;
    for c in text.chars() {
        if c.is_whitespace() {
            space_pending = true;
            continue;
        }
        let joins = PUNCTUATION.contains(&c) || tight.ends_with(PUNCTUATION);
        if space_pending && !tight.is_empty() && !joins {
            tight.push(' ');
        }
        space_pending = false;
        tight.push(c);
    }
    tight
}

/// The `off`, `on` and `tz` components of a tag value.
#[derive(Default)]
struct Parts<'a> {
    off: Option<&'a str>,
    on: Option<&'a str>,
    tz: Option<&'a str>,
}

impl<'a> Parts<'a> {
    fn split(value: &'a str) -> Result<Parts<'a>, CustodianError> {
        let mut parts = Parts::default();
        let mut free_words = Vec::new();
        for component in value.split([';', ' ']).filter(|c| !c.is_empty()) {
            let Some((key, spec)) = component.split_once('=') else {
                free_words.push(component);
                continue;
            };
            let slot = match key {
                "off" => &mut parts.off,
                "on" => &mut parts.on,
                "tz" => &mut parts.tz,
                _ => {
                    return Err(CustodianError::UnknownKey {
                        found: key.to_owned(),
                    });
                }
            };
            if spec.contains('=') {
                return Err(CustodianError::Component {
                    found: component.to_owned(),
                });
            }
            if slot.replace(spec).is_some() {
                return Err(CustodianError::RepeatedKey {
                    key: key.to_owned(),
                });
            }
        }
        // Custodian reads a value without a schedule (`on`, `Offhours tz=PT`) as its default
        // schedule, but rejects stray words next to one.
        match free_words.first() {
            Some(word) if parts.off.is_some() || parts.on.is_some() => {
                Err(CustodianError::Component {
                    found: (*word).to_owned(),
                })
            }
            _ => Ok(parts),
        }
    }
}

fn parse_zone(name: &str) -> Result<Tz, CustodianError> {
    let name = if name.is_empty() {
        DEFAULT_ZONE_ALIAS
    } else {
        name
    };
    ZONE_ALIASES
        .iter()
        .find(|(alias, _)| *alias == name)
        .map(|(_, zone)| *zone)
        .or_else(|| zone_named(name))
        .ok_or_else(|| CustodianError::Zone {
            found: name.to_owned(),
        })
}

/// One `(days,hour)` of an `off` or `on` list.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    /// As written (`M-F`), for descriptions.
    days_text: String,
    days: Vec<Weekday>,
    hour: u32,
}

/// The rules of one side; a missing side takes Custodian's default, `disabled` has none.
fn parse_side(
    key: &'static str,
    spec: Option<&str>,
    default_hour: u32,
) -> Result<Vec<Rule>, CustodianError> {
    match spec {
        None => Ok(vec![Rule {
            days_text: "m-f".to_owned(),
            days: vec![
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
            ],
            hour: default_hour,
        }]),
        Some(DISABLED) => Ok(Vec::new()),
        Some(spec) => parse_rules(key, spec),
    }
}

/// `(m-f,19)`, `[(m-f,21),(u,18)]`, and what Custodian also accepts: `[m-f,20]`, `m-f,20`.
fn parse_rules(key: &'static str, spec: &str) -> Result<Vec<Rule>, CustodianError> {
    let not_a_spec = || CustodianError::Spec {
        key,
        found: spec.to_owned(),
    };
    let unbracketed = spec.replace(['[', ']'], "");
    unbracketed
        .split(",(")
        .map(|rule| {
            let rule = rule.replace(['(', ')'], "");
            let (days, hour) = rule.split_once(',').ok_or_else(not_a_spec)?;
            if hour.contains(',') {
                return Err(not_a_spec());
            }
            Ok(Rule {
                days_text: days.to_owned(),
                days: parse_days(days)?,
                hour: parse_hour(hour)?,
            })
        })
        .collect()
}

fn parse_days(text: &str) -> Result<Vec<Weekday>, CustodianError> {
    let not_days = || CustodianError::Days {
        found: text.to_owned(),
    };
    let (first, last) = match text.split_once('-') {
        Some((first, last)) => (day_letter(first), day_letter(last)),
        None => (day_letter(text), day_letter(text)),
    };
    let (first, last) = first.zip(last).ok_or_else(not_days)?;
    // A range past Sunday wraps: F-M is Friday to Monday.
    let mut days = vec![first];
    let mut day = first;
    while day != last {
        day = day.succ();
        days.push(day);
    }
    Ok(days)
}

fn day_letter(text: &str) -> Option<Weekday> {
    match text {
        "m" => Some(Weekday::Mon),
        "t" => Some(Weekday::Tue),
        "w" => Some(Weekday::Wed),
        "h" => Some(Weekday::Thu),
        "f" => Some(Weekday::Fri),
        "s" => Some(Weekday::Sat),
        "u" => Some(Weekday::Sun),
        _ => None,
    }
}

fn parse_hour(text: &str) -> Result<u32, CustodianError> {
    text.parse::<u32>()
        .ok()
        .filter(|hour| text.bytes().all(|b| b.is_ascii_digit()) && *hour < 24)
        .ok_or_else(|| CustodianError::Hour {
            found: text.to_owned(),
        })
}

fn transitions(off: &[Rule], on: &[Rule]) -> Result<Vec<Transition>, CustodianError> {
    let times = |rules: &[Rule]| -> BTreeSet<(u32, u32)> {
        rules
            .iter()
            .flat_map(|rule| {
                rule.days
                    .iter()
                    .map(|day| (day.num_days_from_monday(), rule.hour))
            })
            .collect()
    };
    let (off_times, on_times) = (times(off), times(on));
    if let Some((day, hour)) = off_times.intersection(&on_times).next() {
        return Err(CustodianError::Conflict {
            day: weekday(*day),
            hour: *hour,
        });
    }
    let transition = |switch| {
        move |(day, hour): &(u32, u32)| Transition {
            weekday: weekday(*day),
            minute_of_day: hour * 60,
            switch,
        }
    };
    Ok(off_times
        .iter()
        .map(transition(Switch::Off))
        .chain(on_times.iter().map(transition(Switch::On)))
        .collect())
}

/// The weekday `days` after Monday (`days` is below 7 by construction).
fn weekday(days: u32) -> Weekday {
    (0..days).fold(Weekday::Mon, |day, _| day.succ())
}

/// `(M-F,19)`, `[(M-F,21),(U,18)]` or `disabled`.
fn describe(rules: &[Rule]) -> String {
    let rule = |r: &Rule| format!("({},{})", r.days_text.to_uppercase(), r.hour);
    match rules {
        [] => DISABLED.to_owned(),
        [single] => rule(single),
        several => format!(
            "[{}]",
            several.iter().map(rule).collect::<Vec<_>>().join(",")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::State::{self, Parked, Up};
    use crate::schedule::tests::{date, local, utc};

    fn scheduled(value: &str) -> Schedule {
        match parse(value) {
            Ok(OffHours::Scheduled(schedule)) => schedule,
            other => panic!("{value}: {other:?}"),
        }
    }

    fn error(value: &str) -> CustodianError {
        parse(value).unwrap_err()
    }

    /// The state at each local time (`YYYY-MM-DD HH:MM` in the schedule's zone).
    fn states(value: &str, times: &[&str]) -> Vec<State> {
        let schedule = scheduled(value);
        times
            .iter()
            .map(|t| schedule.state_at(local(schedule.zone(), t), &[]))
            .collect()
    }

    /// A transition as (weekday from Monday, hour, on?), to compare with Custodian's parser.
    type Row = (u32, u32, bool);

    fn table(value: &str) -> (Vec<Row>, Tz) {
        let schedule = scheduled(value);
        let mut rows: Vec<_> = schedule
            .transitions()
            .iter()
            .map(|t| {
                (
                    t.weekday.num_days_from_monday(),
                    t.minute_of_day / 60,
                    t.switch == Switch::On,
                )
            })
            .collect();
        rows.sort();
        (rows, schedule.zone())
    }

    fn rows(days: &[u32], hour: u32, on: bool) -> Vec<Row> {
        days.iter().map(|d| (*d, hour, on)).collect()
    }

    fn sorted(mut rows: Vec<Row>) -> Vec<Row> {
        rows.sort();
        rows
    }

    const WEEKDAYS: [u32; 5] = [0, 1, 2, 3, 4];

    // 2026-11-23 is a Monday; 2015-12-01 (Custodian's test date) a Tuesday.

    #[test]
    fn documentation_example_up_mon_fri_7am_to_7pm_eastern() {
        let value = "off=(M-F,19);on=(M-F,7)";
        assert_eq!(scheduled(value).zone(), Tz::America__New_York);
        assert_eq!(
            states(
                value,
                &[
                    "2026-11-23 06:59",
                    "2026-11-23 07:00",
                    "2026-11-23 18:59",
                    "2026-11-23 19:00",
                    "2026-11-27 19:05",
                    "2026-11-28 12:00",
                    "2026-11-29 12:00",
                    "2026-11-30 07:00",
                ]
            ),
            [Parked, Up, Up, Parked, Parked, Parked, Parked, Up]
        );
    }

    #[test]
    fn documentation_example_with_sunday_hours_in_pacific_time() {
        let value = "off=[(M-F,21),(U,18)];on=[(M-F,6),(U,10)];tz=pt";
        let schedule = scheduled(value);
        assert_eq!(schedule.zone(), Tz::America__Los_Angeles);
        assert_eq!(
            schedule.to_string(),
            "off=[(M-F,21),(U,18)];on=[(M-F,6),(U,10)] America/Los_Angeles"
        );
        assert_eq!(
            states(
                value,
                &[
                    "2026-11-23 05:59",
                    "2026-11-23 06:00",
                    "2026-11-23 20:59",
                    "2026-11-23 21:00",
                    "2026-11-28 12:00", // Saturday
                    "2026-11-29 09:59", // Sunday
                    "2026-11-29 10:00",
                    "2026-11-29 17:59",
                    "2026-11-29 18:00",
                ]
            ),
            [Parked, Up, Up, Parked, Parked, Parked, Up, Up, Parked]
        );
        // Saturday 18:00 PST: up on Sunday at 10:00 PST (18:00 UTC).
        assert_eq!(
            schedule.next_change_after(utc("2026-11-29T02:00:00Z"), &[]),
            Some(utc("2026-11-29T18:00:00Z"))
        );
        // Sunday 19:00 PST: up on Monday at 06:00 PST (14:00 UTC).
        assert_eq!(
            schedule.next_change_after(utc("2026-11-30T03:00:00Z"), &[]),
            Some(utc("2026-11-30T14:00:00Z"))
        );
    }

    #[test]
    fn documentation_examples_of_escaped_values() {
        let sydney = scheduled("offu3du28M-Fu2c18u29u3btzu3dAustraliau2fSydney");
        assert_eq!(sydney.zone(), Tz::Australia__Sydney);
        assert_eq!(
            sydney.to_string(),
            "off=(M-F,18);on=(M-F,7) Australia/Sydney"
        );
        let (rows_, zone) = table("off=u5bu28M-Fu2c18u29u2cu28Su2c13u29u5d");
        assert_eq!(zone, Tz::America__New_York);
        let mut expected = rows(&WEEKDAYS, 18, false);
        expected.push((5, 13, false));
        expected.extend(rows(&WEEKDAYS, DEFAULT_ON_HOUR, true));
        assert_eq!(rows_, sorted(expected));
    }

    #[test]
    fn custodian_parser_table_standard_cases() {
        // ScheduleParserTest.table in Custodian's tests/test_offhours.py.
        let cases: [(&str, Vec<Row>, Tz); 6] = [
            (
                "off=(m-f,10);on=(m-f,7);tz=et",
                [rows(&WEEKDAYS, 10, false), rows(&WEEKDAYS, 7, true)].concat(),
                Tz::America__New_York,
            ),
            (
                "off=[(m-f,9)];on=(m-s,10);tz=pt",
                [
                    rows(&WEEKDAYS, 9, false),
                    rows(&[0, 1, 2, 3, 4, 5], 10, true),
                ]
                .concat(),
                Tz::America__Los_Angeles,
            ),
            (
                "off=(m-f,19);on=(m-f,7);tz=pst",
                [rows(&WEEKDAYS, 19, false), rows(&WEEKDAYS, 7, true)].concat(),
                Tz::America__Los_Angeles,
            ),
            (
                "on=[(s-m,10)];off=(s-m,19)",
                [rows(&[5, 6, 0], 10, true), rows(&[5, 6, 0], 19, false)].concat(),
                Tz::America__New_York,
            ),
            (
                "on=[(m,9),(t,10),(w,7)];off=(m-u,19)",
                [
                    vec![(0, 9, true), (1, 10, true), (2, 7, true)],
                    rows(&[0, 1, 2, 3, 4, 5, 6], 19, false),
                ]
                .concat(),
                Tz::America__New_York,
            ),
            (
                "off=[m-f,20];on=[m-f,5];tz=est",
                [rows(&WEEKDAYS, 20, false), rows(&WEEKDAYS, 5, true)].concat(),
                Tz::America__New_York,
            ),
        ];
        for (value, expected, zone) in cases {
            assert_eq!(table(value), (sorted(expected), zone), "{value}");
        }
    }

    #[test]
    fn custodian_parser_table_invalid_cases() {
        let cases = [
            ("off=(1-2,12);on=(m-f,10);tz=est", "\"1-2\" is not a day"),
            ("off=(m-f,a);on=(m-f,10);tz=est", "\"a\" is not an hour"),
            ("off=(m-f,99);on=(m-f,7);tz=pst", "\"99\" is not an hour"),
            ("off=(x-f,10);on=(m-f,10);tz=est", "\"x-f\" is not a day"),
            (
                "off=(m-f);on=(m-f,10);tz=est",
                "off=\"(m-f)\" is not a time",
            ),
            (
                "off=(m-t-f,12);on=(m-f,10);tz=est",
                "\"m-t-f\" is not a day",
            ),
            ("off=(m-f,5);zebra=blue,on=(t-w,5)", "unknown key \"zebra\""),
            ("off=(m-f,5);zebra=blue;on=(t-w,5)", "unknown key \"zebra\""),
            (
                "off=(m-f,5);zebrablue,on=(t-w,5)",
                "unknown key \"zebrablue,on\"",
            ),
            (
                "bar;off=(m-f,5);zebrablue,on=(t-w,5)",
                "unknown key \"zebrablue,on\"",
            ),
            ("bar;off=(m-f,5)", "\"bar\" is not key=value"),
            ("off=();tz=et", "off=\"()\" is not a time specification"),
            ("off=(m-f,90);on=(m-f,7);tz=et", "\"90\" is not an hour"),
            ("tz=evt", "tz=\"evt\" is not a time zone"),
            (
                "off=(m-f,19);on=(m-f,7);tz=abc",
                "tz=\"abc\" is not a time zone",
            ),
        ];
        for (value, message) in cases {
            let err = error(value).to_string();
            assert!(err.starts_with(message), "{value}: {err}");
        }
    }

    #[test]
    fn errors_say_the_accepted_form() {
        assert_eq!(
            error("off=(m-f,24)").to_string(),
            "\"24\" is not an hour: expected a whole hour from 0 to 23"
        );
        assert_eq!(
            error("off=(x,19)").to_string(),
            "\"x\" is not a day: expected one of M, T, W, H, F, S, U (H is Thursday, U Sunday) \
             or a range like M-F"
        );
        assert_eq!(
            error("of=(m-f,19)").to_string(),
            "unknown key \"of\": expected off, on or tz, like off=(M-F,19);on=(M-F,7);tz=pt"
        );
        assert_eq!(
            error("off=(m-f,19)=7").to_string(),
            "\"off=(m-f,19)=7\" is not key=value: expected off=..., on=... and tz=... \
             separated by ;, like off=(M-F,19);on=(M-F,7);tz=pt"
        );
        assert_eq!(
            error("off=(m,1);off=(t,2)"),
            CustodianError::RepeatedKey {
                key: "off".to_owned()
            }
        );
        assert_eq!(
            error("off=(m,7);on=(m-f,7)").to_string(),
            "on and off are both at Mon 7:00: a resource cannot be both"
        );
        assert_eq!(
            error("off=disabled;on=disabled"),
            CustodianError::NothingScheduled
        );
    }

    #[test]
    fn default_schedule_for_empty_on_and_free_text_values() {
        // Custodian: "(empty) or on": night and weekend off-hours, default zone et.
        for value in ["", "on", "true", "ON", "  ", "Offhours"] {
            let (rows_, zone) = table(value);
            assert_eq!(
                rows_,
                sorted([rows(&WEEKDAYS, 19, false), rows(&WEEKDAYS, 7, true)].concat()),
                "{value:?}"
            );
            assert_eq!(zone, Tz::America__New_York, "{value:?}");
        }
        // Custodian's test_offhours_real_world_values and test_offhours_get_value.
        assert_eq!(table("Offhours tz=PT").1, Tz::America__Los_Angeles);
        assert_eq!(table("\"Offhours tz=ET\"").1, Tz::America__New_York);
        assert_eq!(table("tz=").1, Tz::America__New_York);
        assert_eq!(
            scheduled("on").to_string(),
            "off=(M-F,19);on=(M-F,7) America/New_York"
        );
    }

    #[test]
    fn default_schedule_decisions_match_custodians_tests() {
        // test_offhours / test_onhour: 2015-12-01 (Tuesday) 19:05 and 07:05 Eastern.
        let default = scheduled("tz=est");
        let et = Tz::America__New_York;
        assert_eq!(default.state_at(local(et, "2015-12-01 19:05"), &[]), Parked);
        assert_eq!(default.state_at(local(et, "2015-12-01 07:05"), &[]), Up);
        // test_offhour_weekend_support: off at 19:00 on Friday 2016-02-26, not on the weekend,
        // on again on Monday.
        assert_eq!(default.state_at(local(et, "2016-02-26 19:20"), &[]), Parked);
        assert_eq!(default.state_at(local(et, "2016-02-27 19:20"), &[]), Parked);
        assert_eq!(default.state_at(local(et, "2016-02-29 07:20"), &[]), Up);
        // test_offhours_skip / test_onhour_skip: skipped days do nothing there; here a holiday
        // is parked all day.
        assert_eq!(
            default.state_at(local(et, "2015-12-01 07:05"), &[date("2015-12-01")]),
            Parked
        );
    }

    #[test]
    fn custom_hours_match_custodians_tests() {
        // test_custom_offhours / test_custom_onhours on Thursday 2016-05-26.
        let et = Tz::America__New_York;
        let nineteen = scheduled("off=(m-f,19);on=(m-f,7);tz=et");
        let twenty = scheduled("off=(m-f,20);on=(m-f,9);tz=et");
        assert_eq!(
            nineteen.state_at(local(et, "2016-05-26 19:00"), &[]),
            Parked
        );
        assert_eq!(twenty.state_at(local(et, "2016-05-26 19:00"), &[]), Up);
        assert_eq!(nineteen.state_at(local(et, "2016-05-26 07:00"), &[]), Up);
        assert_eq!(twenty.state_at(local(et, "2016-05-26 07:00"), &[]), Parked);
        // test_arizona_tz: 07:00 Eastern is 04:00 in Phoenix.
        let arizona = scheduled("off=(m-f,19);on=(m-f,7);tz=at");
        assert_eq!(arizona.zone(), Tz::America__Phoenix);
        assert_eq!(arizona.state_at(local(et, "2016-05-26 07:00"), &[]), Parked);
    }

    #[test]
    fn off_only_falls_back_to_the_default_on_hour_like_custodian() {
        // Custodian's onhour filter has no `on` in this tag, so it starts at its default hour.
        let value = "off=(M-F,19);tz=pst";
        assert_eq!(
            scheduled(value).to_string(),
            "off=(M-F,19);on=(M-F,7) America/Los_Angeles"
        );
        assert_eq!(
            states(
                value,
                &["2026-11-24 06:59", "2026-11-24 07:00", "2026-11-24 19:00"]
            ),
            [Parked, Up, Parked]
        );
        let value = "on=(M-F,7)";
        assert_eq!(
            states(value, &["2026-11-24 07:00", "2026-11-24 19:00"]),
            [Up, Parked]
        );
    }

    #[test]
    fn a_disabled_side_never_switches() {
        // off=...;on=disabled: parked after the off hour and never restored.
        let value = "off=(M-F,19);on=disabled;tz=pst";
        let schedule = scheduled(value);
        assert_eq!(
            schedule.to_string(),
            "off=(M-F,19);on=disabled America/Los_Angeles"
        );
        assert_eq!(
            states(
                value,
                &["2026-11-24 07:00", "2026-11-28 12:00", "2026-11-30 10:00"]
            ),
            [Parked, Parked, Parked]
        );
        assert_eq!(
            schedule.next_change_after(utc("2026-11-24T12:00:00Z"), &[]),
            None
        );
        // off=disabled;on=...: started and never stopped.
        assert_eq!(
            states(
                "off=disabled;on=(M-F,7)",
                &["2026-11-24 06:00", "2026-11-28 23:00"]
            ),
            [Up, Up]
        );
    }

    #[test]
    fn off_opts_the_resource_out() {
        assert_eq!(parse("off").unwrap(), OffHours::OptedOut);
        assert_eq!(parse(" OFF ").unwrap(), OffHours::OptedOut);
    }

    #[test]
    fn case_spaces_and_trailing_semicolons_are_tolerated() {
        let expected = table("off=[(m-f,21),(u,18)];on=[(m-f,6),(u,10)];tz=pt");
        for value in [
            "OFF=[(M-F,21),(U,18)];ON=[(M-F,6),(U,10)];TZ=PT",
            "off = [(M-F, 21), (U, 18)] ; on = [(M-F, 6), (U, 10)] ; tz = pt",
            "off=[(M-F,21),(U,18)];on=[(M-F,6),(U,10)];tz=pt;",
            "'off=[(M-F,21),(U,18)];on=[(M-F,6),(U,10)];tz=pt'",
            "off=[(m-f,21),(u,18)];;on=[(m-f,6),(u,10)];tz=America/Los_Angeles",
        ] {
            assert_eq!(table(value), expected, "{value}");
        }
        // Custodian accepts a lone rule without parentheses, and leading zeros.
        assert_eq!(
            table("off=m-f,19;on=m-f,07"),
            table("off=(m-f,19);on=(m-f,7)")
        );
    }

    #[test]
    fn zone_aliases_are_custodians() {
        let cases = [
            ("pt", Tz::America__Los_Angeles),
            ("pst", Tz::America__Los_Angeles),
            ("pdt", Tz::America__Los_Angeles),
            ("et", Tz::America__New_York),
            ("est", Tz::America__New_York),
            ("edt", Tz::America__New_York),
            ("ct", Tz::America__Chicago),
            ("cst", Tz::America__Chicago),
            ("cdt", Tz::America__Chicago),
            ("mt", Tz::America__Denver),
            ("mst", Tz::America__Denver),
            ("mdt", Tz::America__Denver),
            ("at", Tz::America__Phoenix),
            ("ast", Tz::America__Phoenix),
            ("gmt", Tz::Etc__GMT),
            ("gt", Tz::Etc__GMT),
            ("utc", Tz::Etc__UTC),
            ("bst", Tz::Europe__London),
            // Custodian maps ist to Ireland; India is "it".
            ("ist", Tz::Europe__Dublin),
            ("it", Tz::Asia__Kolkata),
            ("cet", Tz::Europe__Berlin),
            ("jst", Tz::Asia__Tokyo),
            ("kst", Tz::Asia__Seoul),
            ("sgt", Tz::Asia__Singapore),
            ("aet", Tz::Australia__Sydney),
            ("brt", Tz::America__Sao_Paulo),
            ("nzst", Tz::Pacific__Auckland),
            // test_tz_long_form_resolve: IANA names in lower case.
            ("america/los_angeles", Tz::America__Los_Angeles),
            ("pacific/auckland", Tz::Pacific__Auckland),
            ("chile/easterisland", Tz::Chile__EasterIsland),
            ("Europe/Madrid", Tz::Europe__Madrid),
        ];
        for (alias, zone) in cases {
            assert_eq!(table(&format!("tz={alias}")).1, zone, "{alias}");
        }
        assert!(matches!(error("tz=aest"), CustodianError::Zone { .. }));
    }
}
