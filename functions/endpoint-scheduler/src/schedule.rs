//! Business-hours schedules: our syntax (`Mon-Fri 08:00-19:00; Sat 10:00-14:00 Europe/Madrid`)
//! and the state a schedule wants at a given instant.
//!
//! A schedule is a list of weekly transitions (weekday, local time, on or off) in one time
//! zone. The state at an instant is set by the latest transition at or before it, found among
//! the last eight days of local dates, so daylight-saving changes are applied on the very day
//! they happen:
//! - a local time skipped by a spring-forward gap happens at the first instant after the gap;
//! - a local time repeated by a fall-back happens at its first occurrence.
//!
//! Holidays are local dates on which everything is parked: from local midnight, and an `On`
//! transition falling on a holiday is ignored (a window that opens on a holiday stays closed,
//! even after midnight).

use std::fmt;

use chrono::{
    DateTime, Datelike, Days, MappedLocalTime, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta,
    TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;

/// How far back the latest transition is looked for, and how far ahead the next change: a
/// week of transitions plus a day of margin for time-zone offsets.
const HORIZON_DAYS: u64 = 8;
const MINUTES_PER_DAY: u32 = 24 * 60;
const MINUTES_PER_WEEK: u32 = 7 * MINUTES_PER_DAY;
/// No time zone skips more than a day (Samoa skipped 2011-12-30); a local time still missing
/// after this long is not a real local time.
const LONGEST_GAP_MINUTES: u32 = 2 * MINUTES_PER_DAY;

const ACCEPTED_FORM: &str = "days then HH:MM-HH:MM windows, like Mon-Fri 08:00-19:00 or \
     Mon-Fri 08:00-12:00,13:00-19:00; Sat 10:00-14:00 Europe/Madrid";

/// What a schedule wants a resource to be at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Up,
    Parked,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Switch {
    On,
    Off,
}

/// A weekly event: every `weekday` at `minute_of_day` (local time) the schedule switches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub weekday: Weekday,
    /// Minutes since local midnight, below 24:00.
    pub minute_of_day: u32,
    pub switch: Switch,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// The schedule as people wrote it, without its zone (shown by `Display` after it).
    description: String,
    zone: Tz,
    /// Sorted by weekday and time. Empty means up around the clock.
    transitions: Vec<Transition>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("the schedule is empty: expected {ACCEPTED_FORM}")]
    Empty,
    #[error("{group:?} is not a schedule group: expected {ACCEPTED_FORM}")]
    Group { group: String },
    #[error(
        "{found:?} is not a day: expected Mon, Tue, Wed, Thu, Fri, Sat or Sun, a range like \
         Mon-Fri or a list like Mon,Wed,Fri"
    )]
    Day { found: String },
    #[error(
        "{found:?} is not a time window: expected HH:MM-HH:MM between 00:00 and 24:00, like \
         08:00-19:00, or 22:00-06:00 to run overnight; several windows are separated by commas"
    )]
    Window { found: String },
    #[error(
        "{found:?} starts and ends at the same time: a window needs a length (for a whole day \
         use 00:00-24:00)"
    )]
    EmptyWindow { found: String },
    #[error(
        "{found:?} is not a time zone: expected an IANA name like Europe/Madrid or UTC, once at \
         the end of the schedule"
    )]
    Zone { found: String },
    #[error(
        "the time zone {zone} is in the middle of the schedule: it applies to every group, so \
         write it once at the end, like Mon-Fri 08:00-19:00; Sat 10:00-14:00 {zone}"
    )]
    ZoneNotLast { zone: String },
}

impl Schedule {
    /// Parses our syntax; `default_zone` (the configured `TIMEZONE`) applies unless the schedule
    /// ends with its own zone.
    pub fn parse(text: &str, default_zone: Tz) -> Result<Schedule, ScheduleError> {
        let groups: Vec<&str> = text
            .split(';')
            .map(str::trim)
            .filter(|g| !g.is_empty())
            .collect();
        if groups.is_empty() {
            return Err(ScheduleError::Empty);
        }
        let mut week = WeekMinutes::default();
        let mut descriptions = Vec::with_capacity(groups.len());
        let mut zone = None;
        for (index, text) in groups.iter().enumerate() {
            let group = Group::parse(text)?;
            if let Some(group_zone) = group.zone {
                if index + 1 < groups.len() {
                    return Err(ScheduleError::ZoneNotLast {
                        zone: group_zone.name().to_owned(),
                    });
                }
                zone = Some(group_zone);
            }
            group.mark_up(&mut week);
            descriptions.push(group.description);
        }
        Ok(Schedule {
            description: descriptions.join("; "),
            zone: zone.unwrap_or(default_zone),
            transitions: week.transitions(),
        })
    }

    /// A schedule from transitions computed elsewhere (Cloud Custodian's tag syntax).
    pub(crate) fn from_transitions(
        description: String,
        zone: Tz,
        mut transitions: Vec<Transition>,
    ) -> Schedule {
        transitions.sort_by_key(|t| week_minute(t.weekday, t.minute_of_day));
        Schedule {
            description,
            zone,
            transitions,
        }
    }

    pub fn zone(&self) -> Tz {
        self.zone
    }

    #[cfg(test)]
    pub fn transitions(&self) -> &[Transition] {
        &self.transitions
    }

    /// The state wanted at `now`; `holidays` are local dates in the schedule's zone.
    pub fn state_at(&self, now: DateTime<Utc>, holidays: &[NaiveDate]) -> State {
        if holidays.contains(&self.local_date(now)) {
            return State::Parked;
        }
        match self.latest_at_or_before(now) {
            // Only a schedule without transitions finds none: it is up around the clock.
            None => State::Up,
            Some(latest) => match latest.switch {
                Switch::Off => State::Parked,
                Switch::On if holidays.contains(&latest.local.date()) => State::Parked,
                Switch::On => State::Up,
            },
        }
    }

    /// The next instant after `now` when the wanted state flips, if it does within eight days.
    pub fn next_change_after(
        &self,
        now: DateTime<Utc>,
        holidays: &[NaiveDate],
    ) -> Option<DateTime<Utc>> {
        let current = self.state_at(now, holidays);
        let horizon = now
            .checked_add_signed(TimeDelta::days(HORIZON_DAYS as i64))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        let dates: Vec<NaiveDate> = self.local_dates_around(now, 1, HORIZON_DAYS + 1).collect();
        // The state only changes at a transition or at a local midnight (holidays start and end
        // there), so those are the only instants worth evaluating.
        let midnights = dates
            .iter()
            .filter_map(|date| resolve(self.zone, date.and_time(NaiveTime::MIN)));
        let mut candidates: Vec<DateTime<Utc>> = self
            .occurrences(&dates)
            .into_iter()
            .map(|o| o.instant)
            .chain(midnights)
            .filter(|instant| *instant > now && *instant <= horizon)
            .collect();
        candidates.sort();
        candidates.dedup();
        candidates
            .into_iter()
            .find(|instant| self.state_at(*instant, holidays) != current)
    }

    fn latest_at_or_before(&self, now: DateTime<Utc>) -> Option<Occurrence> {
        let dates: Vec<NaiveDate> = self.local_dates_around(now, HORIZON_DAYS, 1).collect();
        self.occurrences(&dates)
            .into_iter()
            .filter(|o| o.instant <= now)
            // Two local times in one spring-forward gap happen at the same instant: the later
            // wall-clock time is the one that counts.
            .max_by_key(|o| (o.instant, o.local))
    }

    /// Every occurrence of the weekly transitions on the given local dates.
    fn occurrences(&self, dates: &[NaiveDate]) -> Vec<Occurrence> {
        dates
            .iter()
            .flat_map(|date| {
                self.transitions
                    .iter()
                    .filter(move |t| t.weekday == date.weekday())
                    .filter_map(move |t| self.occurrence(*date, t))
            })
            .collect()
    }

    fn occurrence(&self, date: NaiveDate, transition: &Transition) -> Option<Occurrence> {
        let local = date
            .and_time(NaiveTime::MIN)
            .checked_add_signed(TimeDelta::minutes(transition.minute_of_day.into()))?;
        Some(Occurrence {
            instant: resolve(self.zone, local)?,
            local,
            switch: transition.switch,
        })
    }

    fn local_date(&self, instant: DateTime<Utc>) -> NaiveDate {
        instant.with_timezone(&self.zone).date_naive()
    }

    /// Local dates from `before` days before the local date of `instant` to `after` days after.
    fn local_dates_around(
        &self,
        instant: DateTime<Utc>,
        before: u64,
        after: u64,
    ) -> impl Iterator<Item = NaiveDate> {
        let today = self.local_date(instant);
        let first = today.checked_sub_days(Days::new(before)).unwrap_or(today);
        first.iter_days().take_while(move |date| {
            today
                .checked_add_days(Days::new(after))
                .is_none_or(|last| *date <= last)
        })
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.description, self.zone.name())
    }
}

/// A transition on a given local date.
#[derive(Debug, Clone, Copy)]
struct Occurrence {
    instant: DateTime<Utc>,
    local: NaiveDateTime,
    switch: Switch,
}

/// The instant a local time happens: a time skipped by a spring-forward gap happens at the
/// first instant after the gap, a repeated time at its first occurrence. `None` only for a
/// local time no time zone could produce (beyond chrono's range, or a gap over two days).
fn resolve(zone: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    let mut probe = local;
    for _ in 0..=LONGEST_GAP_MINUTES {
        match zone.from_local_datetime(&probe) {
            MappedLocalTime::Single(instant) => return Some(instant.to_utc()),
            MappedLocalTime::Ambiguous(earliest, _) => return Some(earliest.to_utc()),
            // Gaps start and end on whole minutes, so the first existing minute after a
            // skipped one is the end of the gap.
            MappedLocalTime::None => probe = probe.checked_add_signed(TimeDelta::minutes(1))?,
        }
    }
    None
}

/// An IANA zone name, in any letter case (`europe/madrid` as well as `Europe/Madrid`).
pub(crate) fn zone_named(name: &str) -> Option<Tz> {
    name.parse::<Tz>().ok().or_else(|| {
        chrono_tz::TZ_VARIANTS
            .iter()
            .copied()
            .find(|zone| zone.name().eq_ignore_ascii_case(name))
    })
}

fn week_minute(weekday: Weekday, minute_of_day: u32) -> u32 {
    weekday.num_days_from_monday() * MINUTES_PER_DAY + minute_of_day
}

/// Which minutes of the (local) week are inside a window. Windows are merged this way, so
/// overlapping or touching windows (`08:00-12:00,12:00-19:00`) never switch off in between.
struct WeekMinutes {
    up: Vec<bool>,
}

impl Default for WeekMinutes {
    fn default() -> Self {
        WeekMinutes {
            up: vec![false; MINUTES_PER_WEEK as usize],
        }
    }
}

impl WeekMinutes {
    /// Marks `start..end` minutes after the start of `day`; the week wraps, so a Sunday
    /// overnight window ends on Monday morning.
    fn mark(&mut self, day: Weekday, window: &Window) {
        let day_start = week_minute(day, 0);
        for minute in window.start..window.end {
            self.up[((day_start + minute) % MINUTES_PER_WEEK) as usize] = true;
        }
    }

    fn is_up(&self, minute: u32) -> bool {
        self.up[(minute % MINUTES_PER_WEEK) as usize]
    }

    /// A transition at every minute whose state differs from the minute before.
    fn transitions(&self) -> Vec<Transition> {
        (0..MINUTES_PER_WEEK)
            .filter(|minute| self.is_up(*minute) != self.is_up(minute + MINUTES_PER_WEEK - 1))
            .filter_map(|minute| {
                let weekday =
                    Weekday::try_from(u8::try_from(minute / MINUTES_PER_DAY).ok()?).ok()?;
                Some(Transition {
                    weekday,
                    minute_of_day: minute % MINUTES_PER_DAY,
                    switch: if self.is_up(minute) {
                        Switch::On
                    } else {
                        Switch::Off
                    },
                })
            })
            .collect()
    }
}

/// One `;`-separated part: days, windows and (in the last part only) a zone.
struct Group {
    days: Vec<Weekday>,
    windows: Vec<Window>,
    zone: Option<Tz>,
    /// Days and windows as written, spaces tidied.
    description: String,
}

impl Group {
    fn parse(text: &str) -> Result<Group, ScheduleError> {
        let tight = tighten(text);
        let words: Vec<&str> = tight.split_whitespace().collect();
        let (days, windows, zone) = match words.as_slice() {
            [days, windows] => (*days, *windows, None),
            // A second list of windows is a missing comma, not a zone.
            [days, windows, zone] if parse_windows(zone).is_err() => (*days, *windows, Some(*zone)),
            _ => {
                return Err(ScheduleError::Group {
                    group: text.to_owned(),
                });
            }
        };
        Ok(Group {
            days: parse_days(days)?,
            windows: parse_windows(windows)?,
            zone: zone.map(parse_zone).transpose()?,
            description: format!("{days} {windows}"),
        })
    }

    fn mark_up(&self, week: &mut WeekMinutes) {
        for day in &self.days {
            for window in &self.windows {
                week.mark(*day, window);
            }
        }
    }
}

/// Removes the spaces people put around `,` and `-` (`Mon - Fri`, `08:00-12:00, 13:00-19:00`),
/// so days, windows and zone are one word each.
fn tighten(text: &str) -> String {
    let mut tight = String::with_capacity(text.len());
    let mut space_pending = false;
    for c in text.chars() {
        if c.is_whitespace() {
            space_pending = true;
            continue;
        }
        let joins = matches!(c, ',' | '-') || tight.ends_with([',', '-']);
        if space_pending && !tight.is_empty() && !joins {
            tight.push(' ');
        }
        space_pending = false;
        tight.push(c);
    }
    tight
}

/// `Mon-Fri`, `Sat`, `Mon,Wed,Fri`, `Fri-Mon` (wraps past Sunday); names as chrono reads them
/// (`Mon` or `Monday`, any case).
fn parse_days(text: &str) -> Result<Vec<Weekday>, ScheduleError> {
    let mut days = Vec::new();
    for item in text.split(',') {
        let (first, last) = match item.split_once('-') {
            Some((first, last)) => (parse_day(first, text)?, parse_day(last, text)?),
            None => {
                let day = parse_day(item, text)?;
                (day, day)
            }
        };
        let mut day = first;
        days.push(day);
        while day != last {
            day = day.succ();
            days.push(day);
        }
    }
    Ok(days)
}

/// `whole` is quoted instead when `text` is empty, as in `Mon,,Fri`.
fn parse_day(text: &str, whole: &str) -> Result<Weekday, ScheduleError> {
    text.parse().map_err(|_| ScheduleError::Day {
        found: if text.is_empty() { whole } else { text }.to_owned(),
    })
}

/// Minutes from the start of the day the window opens; `end` may pass midnight.
struct Window {
    start: u32,
    end: u32,
}

fn parse_windows(text: &str) -> Result<Vec<Window>, ScheduleError> {
    text.split(',').map(parse_window).collect()
}

fn parse_window(text: &str) -> Result<Window, ScheduleError> {
    let not_a_window = || ScheduleError::Window {
        found: text.to_owned(),
    };
    let (start, end) = text.split_once('-').ok_or_else(not_a_window)?;
    let start = parse_clock(start)
        .filter(|minute| *minute < MINUTES_PER_DAY)
        .ok_or_else(not_a_window)?;
    let end = parse_clock(end).ok_or_else(not_a_window)?;
    if start == end {
        return Err(ScheduleError::EmptyWindow {
            found: text.to_owned(),
        });
    }
    // An end before the start is on the next day: 22:00-06:00 runs overnight.
    let end = if end > start {
        end
    } else {
        end + MINUTES_PER_DAY
    };
    Ok(Window { start, end })
}

/// `HH:MM` (or `H:MM`) as minutes since midnight, up to `24:00`.
fn parse_clock(text: &str) -> Option<u32> {
    let (hours, minutes) = text.split_once(':')?;
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(hours) || hours.len() > 2 || !all_digits(minutes) || minutes.len() != 2 {
        return None;
    }
    let (hours, minutes): (u32, u32) = (hours.parse().ok()?, minutes.parse().ok()?);
    let minute_of_day = hours * 60 + minutes;
    (minutes < 60 && minute_of_day <= MINUTES_PER_DAY).then_some(minute_of_day)
}

fn parse_zone(text: &str) -> Result<Tz, ScheduleError> {
    zone_named(text).ok_or_else(|| ScheduleError::Zone {
        found: text.to_owned(),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A UTC instant from `2026-03-29T01:00:00Z`.
    pub(crate) fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    /// The instant a local `YYYY-MM-DD HH:MM` happens in `zone`; the time must exist once.
    pub(crate) fn local(zone: Tz, text: &str) -> DateTime<Utc> {
        let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap();
        zone.from_local_datetime(&naive).single().unwrap().to_utc()
    }

    pub(crate) fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn schedule(text: &str) -> Schedule {
        Schedule::parse(text, Tz::UTC).unwrap()
    }

    fn error(text: &str) -> String {
        Schedule::parse(text, Tz::UTC).unwrap_err().to_string()
    }

    /// The state at each local time (`YYYY-MM-DD HH:MM` in the schedule's zone).
    fn states(schedule: &Schedule, holidays: &[NaiveDate], times: &[&str]) -> Vec<State> {
        times
            .iter()
            .map(|t| schedule.state_at(local(schedule.zone(), t), holidays))
            .collect()
    }

    use State::{Parked, Up};

    // 2026-11-23 is a Monday.

    #[test]
    fn business_hours_are_up_on_weekdays_only_start_inclusive_end_exclusive() {
        let s = schedule("Mon-Fri 08:00-19:00");
        assert_eq!(
            states(
                &s,
                &[],
                &[
                    "2026-11-23 07:59",
                    "2026-11-23 08:00",
                    "2026-11-23 18:59",
                    "2026-11-23 19:00",
                    "2026-11-27 12:00",
                    "2026-11-28 12:00",
                    "2026-11-29 12:00",
                ]
            ),
            [Parked, Up, Up, Parked, Up, Parked, Parked]
        );
    }

    #[test]
    fn day_lists_ranges_and_wrapping_ranges() {
        let at_noon = |text: &str| -> Vec<State> {
            let s = schedule(text);
            (23..=29)
                .map(|day| s.state_at(local(Tz::UTC, &format!("2026-11-{day} 12:00")), &[]))
                .collect()
        };
        assert_eq!(
            at_noon("Mon,Wed,Fri 08:00-19:00"),
            [Up, Parked, Up, Parked, Up, Parked, Parked]
        );
        assert_eq!(
            at_noon("Sat-Sun 08:00-19:00"),
            [Parked, Parked, Parked, Parked, Parked, Up, Up]
        );
        assert_eq!(at_noon("Mon-Sun 08:00-19:00"), [Up; 7]);
        assert_eq!(
            at_noon("Fri-Mon 08:00-19:00"),
            [Up, Parked, Parked, Parked, Up, Up, Up]
        );
        assert_eq!(
            at_noon("monday, WEDNESDAY - thu 08:00-19:00"),
            [Up, Parked, Up, Up, Parked, Parked, Parked]
        );
    }

    #[test]
    fn several_windows_a_day_park_in_between() {
        let s = schedule("Mon-Fri 08:00-12:00, 13:00-19:00");
        assert_eq!(
            states(
                &s,
                &[],
                &["2026-11-23 11:59", "2026-11-23 12:30", "2026-11-23 13:00"]
            ),
            [Up, Parked, Up]
        );
    }

    #[test]
    fn touching_and_overlapping_windows_merge() {
        let touching = schedule("Mon 08:00-12:00,12:00-19:00");
        assert_eq!(
            touching.next_change_after(local(Tz::UTC, "2026-11-23 09:00"), &[]),
            Some(local(Tz::UTC, "2026-11-23 19:00"))
        );
        let overlapping = schedule("Mon 08:00-12:00,11:00-13:00");
        assert_eq!(
            states(&overlapping, &[], &["2026-11-23 12:30", "2026-11-23 13:00"]),
            [Up, Parked]
        );
        let across_days = schedule("Mon 22:00-06:00; Tue 05:00-09:00");
        assert_eq!(
            states(
                &across_days,
                &[],
                &["2026-11-24 05:30", "2026-11-24 07:00", "2026-11-24 09:00"]
            ),
            [Up, Up, Parked]
        );
    }

    #[test]
    fn groups_give_different_hours_to_different_days() {
        let s = schedule("Mon-Fri 08:00-19:00; Sat 10:00-14:00");
        assert_eq!(
            states(
                &s,
                &[],
                &[
                    "2026-11-27 18:00",
                    "2026-11-28 09:00",
                    "2026-11-28 10:00",
                    "2026-11-28 14:00",
                    "2026-11-29 12:00"
                ]
            ),
            [Up, Parked, Up, Parked, Parked]
        );
    }

    #[test]
    fn overnight_windows_run_into_the_next_day() {
        let s = schedule("Mon-Fri 22:00-06:00");
        assert_eq!(
            states(
                &s,
                &[],
                &[
                    "2026-11-23 05:59", // Monday morning: Sunday had no window
                    "2026-11-23 21:59",
                    "2026-11-23 22:00",
                    "2026-11-24 05:59",
                    "2026-11-24 06:00",
                    "2026-11-28 05:59", // Saturday morning: Friday's window
                    "2026-11-28 06:00",
                    "2026-11-28 22:00", // Saturday evening: no window
                ]
            ),
            [Parked, Parked, Up, Up, Parked, Up, Parked, Parked]
        );
    }

    #[test]
    fn a_friday_night_window_runs_into_saturday() {
        let s = schedule("Fri 22:00-06:00");
        assert_eq!(
            states(
                &s,
                &[],
                &["2026-11-27 22:00", "2026-11-28 05:59", "2026-11-28 06:00"]
            ),
            [Up, Up, Parked]
        );
    }

    #[test]
    fn a_sunday_night_window_wraps_into_monday() {
        let s = schedule("Sun 22:00-06:00");
        assert_eq!(
            states(
                &s,
                &[],
                &["2026-11-29 23:00", "2026-11-30 05:59", "2026-11-30 06:00"]
            ),
            [Up, Up, Parked]
        );
    }

    #[test]
    fn midnight_is_accepted_as_an_end() {
        let s = schedule("Mon 20:00-24:00");
        assert_eq!(
            states(&s, &[], &["2026-11-23 23:59", "2026-11-24 00:00"]),
            [Up, Parked]
        );
        let always = schedule("Mon-Sun 00:00-24:00");
        assert!(always.transitions().is_empty());
        assert_eq!(always.state_at(utc("2026-11-25T03:00:00Z"), &[]), Up);
        assert_eq!(
            always.next_change_after(utc("2026-11-25T03:00:00Z"), &[]),
            None
        );
    }

    #[test]
    fn explicit_zone_wins_over_the_configured_one() {
        let s =
            Schedule::parse("Mon-Fri 08:00-19:00 Europe/Madrid", Tz::America__New_York).unwrap();
        assert_eq!(s.zone(), Tz::Europe__Madrid);
        assert_eq!(s.to_string(), "Mon-Fri 08:00-19:00 Europe/Madrid");
        // 08:00 in Madrid in November (CET) is 07:00 UTC.
        assert_eq!(s.state_at(utc("2026-11-23T06:59:00Z"), &[]), Parked);
        assert_eq!(s.state_at(utc("2026-11-23T07:00:00Z"), &[]), Up);

        let configured = Schedule::parse("Mon-Fri 08:00-19:00", Tz::America__New_York).unwrap();
        assert_eq!(
            configured.to_string(),
            "Mon-Fri 08:00-19:00 America/New_York"
        );
        let lower_case = Schedule::parse("mon-fri 08:00-19:00 europe/madrid", Tz::UTC).unwrap();
        assert_eq!(lower_case.zone(), Tz::Europe__Madrid);
    }

    #[test]
    fn display_tidies_spaces_and_keeps_the_groups() {
        let s = Schedule::parse(
            "  Mon - Fri   08:00-12:00 ,13:00-19:00 ;Sat 10:00-14:00   Europe/Madrid ; ",
            Tz::UTC,
        )
        .unwrap();
        assert_eq!(
            s.to_string(),
            "Mon-Fri 08:00-12:00,13:00-19:00; Sat 10:00-14:00 Europe/Madrid"
        );
    }

    #[test]
    fn madrid_spring_forward_moves_the_utc_hours_on_the_day() {
        // 2026-03-29: at 02:00 CET clocks jump to 03:00 CEST.
        let s = Schedule::parse("Mon-Sun 08:00-19:00", Tz::Europe__Madrid).unwrap();
        assert_eq!(s.state_at(utc("2026-03-28T06:59:00Z"), &[]), Parked);
        assert_eq!(s.state_at(utc("2026-03-28T07:00:00Z"), &[]), Up);
        assert_eq!(s.state_at(utc("2026-03-29T05:59:00Z"), &[]), Parked);
        assert_eq!(s.state_at(utc("2026-03-29T06:00:00Z"), &[]), Up);
        assert_eq!(
            s.next_change_after(utc("2026-03-29T06:00:00Z"), &[]),
            Some(utc("2026-03-29T17:00:00Z"))
        );
    }

    #[test]
    fn madrid_window_opening_inside_the_gap_opens_when_the_gap_ends() {
        // 02:30 does not exist on 2026-03-29: the window opens at 03:00 CEST (01:00 UTC).
        let s = Schedule::parse("Sun 02:30-10:00 Europe/Madrid", Tz::UTC).unwrap();
        assert_eq!(s.state_at(utc("2026-03-29T00:59:00Z"), &[]), Parked);
        assert_eq!(s.state_at(utc("2026-03-29T01:00:00Z"), &[]), Up);
        assert_eq!(
            s.next_change_after(utc("2026-03-28T12:00:00Z"), &[]),
            Some(utc("2026-03-29T01:00:00Z"))
        );
        // A window that lies entirely inside the gap never opens that day.
        let inside = Schedule::parse("Sun 02:10-02:40 Europe/Madrid", Tz::UTC).unwrap();
        assert_eq!(inside.state_at(utc("2026-03-29T01:00:00Z"), &[]), Parked);
        assert_eq!(
            inside.next_change_after(utc("2026-03-28T12:00:00Z"), &[]),
            Some(utc("2026-04-05T00:10:00Z"))
        );
    }

    #[test]
    fn madrid_fall_back_uses_the_first_of_the_repeated_times() {
        // 2026-10-25: at 03:00 CEST clocks go back to 02:00 CET; 02:30 happens twice.
        let opens = Schedule::parse("Sun 02:30-10:00 Europe/Madrid", Tz::UTC).unwrap();
        assert_eq!(opens.state_at(utc("2026-10-25T00:29:00Z"), &[]), Parked);
        assert_eq!(opens.state_at(utc("2026-10-25T00:30:00Z"), &[]), Up);
        // 10:00 CET is 09:00 UTC, an hour later in UTC than the day before.
        assert_eq!(opens.state_at(utc("2026-10-25T08:59:00Z"), &[]), Up);
        assert_eq!(opens.state_at(utc("2026-10-25T09:00:00Z"), &[]), Parked);

        let closes = Schedule::parse("Sat 20:00-02:30 Europe/Madrid", Tz::UTC).unwrap();
        assert_eq!(closes.state_at(utc("2026-10-25T00:29:00Z"), &[]), Up);
        assert_eq!(closes.state_at(utc("2026-10-25T00:30:00Z"), &[]), Parked);
        // The second 02:15 (CET, 01:15 UTC) stays parked.
        assert_eq!(closes.state_at(utc("2026-10-25T01:15:00Z"), &[]), Parked);
        assert_eq!(
            closes.next_change_after(utc("2026-10-24T19:00:00Z"), &[]),
            Some(utc("2026-10-25T00:30:00Z"))
        );
    }

    #[test]
    fn new_york_spring_forward() {
        // 2026-03-08: at 02:00 EST clocks jump to 03:00 EDT.
        let s = Schedule::parse(
            "Mon-Fri 08:00-19:00; Sun 02:15-12:00",
            Tz::America__New_York,
        )
        .unwrap();
        assert_eq!(s.state_at(utc("2026-03-08T06:59:00Z"), &[]), Parked);
        assert_eq!(s.state_at(utc("2026-03-08T07:00:00Z"), &[]), Up); // 03:00 EDT
        assert_eq!(
            s.next_change_after(utc("2026-03-07T12:00:00Z"), &[]),
            Some(utc("2026-03-08T07:00:00Z"))
        );
        // Friday before: 08:00 EST = 13:00 UTC; Monday after: 08:00 EDT = 12:00 UTC.
        assert_eq!(s.state_at(utc("2026-03-06T12:30:00Z"), &[]), Parked);
        assert_eq!(s.state_at(utc("2026-03-09T12:30:00Z"), &[]), Up);
    }

    #[test]
    fn new_york_fall_back() {
        // 2026-11-01: at 02:00 EDT clocks go back to 01:00 EST; 01:30 happens twice.
        let opens = Schedule::parse("Sun 01:30-12:00", Tz::America__New_York).unwrap();
        assert_eq!(opens.state_at(utc("2026-11-01T05:29:00Z"), &[]), Parked);
        assert_eq!(opens.state_at(utc("2026-11-01T05:30:00Z"), &[]), Up); // 01:30 EDT
        assert_eq!(opens.state_at(utc("2026-11-01T16:59:00Z"), &[]), Up); // 11:59 EST

        let closes = Schedule::parse("Sat 22:00-01:30", Tz::America__New_York).unwrap();
        assert_eq!(closes.state_at(utc("2026-11-01T05:29:00Z"), &[]), Up);
        assert_eq!(closes.state_at(utc("2026-11-01T05:30:00Z"), &[]), Parked);
        assert_eq!(closes.state_at(utc("2026-11-01T06:10:00Z"), &[]), Parked); // 01:10 EST
        assert_eq!(
            closes.next_change_after(utc("2026-11-01T05:30:00Z"), &[]),
            Some(utc("2026-11-08T03:00:00Z")) // Saturday 22:00 EST
        );
    }

    #[test]
    fn holidays_park_all_day() {
        let s = schedule("Mon-Fri 08:00-19:00");
        let holidays = [date("2026-11-26")];
        assert_eq!(
            states(
                &s,
                &holidays,
                &["2026-11-25 12:00", "2026-11-26 12:00", "2026-11-27 12:00"]
            ),
            [Up, Parked, Up]
        );
        assert_eq!(
            s.next_change_after(local(Tz::UTC, "2026-11-25 20:00"), &holidays),
            Some(local(Tz::UTC, "2026-11-27 08:00"))
        );
    }

    #[test]
    fn holidays_are_local_dates_of_the_schedule_zone() {
        let s = Schedule::parse("Mon-Sun 00:00-24:00", Tz::Europe__Madrid).unwrap();
        let holidays = [date("2026-12-25")];
        // 23:30 UTC on the 24th is already the 25th in Madrid.
        assert_eq!(s.state_at(utc("2026-12-24T22:59:00Z"), &holidays), Up);
        assert_eq!(s.state_at(utc("2026-12-24T23:00:00Z"), &holidays), Parked);
        assert_eq!(
            s.next_change_after(utc("2026-12-25T12:00:00Z"), &holidays),
            Some(utc("2026-12-25T23:00:00Z"))
        );
    }

    #[test]
    fn an_overnight_window_running_into_a_holiday_stops_at_midnight() {
        let s = schedule("Mon-Sun 22:00-06:00");
        let holidays = [date("2026-12-08")]; // a Tuesday
        assert_eq!(
            states(
                &s,
                &holidays,
                &[
                    "2026-12-07 23:00", // Monday night, before the holiday
                    "2026-12-08 00:00", // holiday midnight: parked
                    "2026-12-08 05:00",
                    "2026-12-08 23:00", // the window opening on the holiday is skipped
                    "2026-12-09 03:00", // ... even after midnight
                    "2026-12-09 22:00", // Wednesday night: up again
                ]
            ),
            [Up, Parked, Parked, Parked, Parked, Up]
        );
        assert_eq!(
            s.next_change_after(local(Tz::UTC, "2026-12-07 23:00"), &holidays),
            Some(local(Tz::UTC, "2026-12-08 00:00"))
        );
        assert_eq!(
            s.next_change_after(local(Tz::UTC, "2026-12-08 00:00"), &holidays),
            Some(local(Tz::UTC, "2026-12-09 22:00"))
        );
    }

    #[test]
    fn a_window_over_several_days_resumes_after_a_holiday() {
        let s = schedule("Mon-Fri 00:00-24:00");
        let holidays = [date("2026-11-25")]; // Wednesday
        assert_eq!(
            states(
                &s,
                &holidays,
                &["2026-11-24 12:00", "2026-11-25 12:00", "2026-11-26 00:00"]
            ),
            [Up, Parked, Up]
        );
        assert_eq!(
            s.next_change_after(local(Tz::UTC, "2026-11-25 12:00"), &holidays),
            Some(local(Tz::UTC, "2026-11-26 00:00"))
        );
    }

    #[test]
    fn next_change_follows_the_week() {
        let s = schedule("Mon-Fri 08:00-19:00");
        let next = |at: &str| s.next_change_after(local(Tz::UTC, at), &[]);
        assert_eq!(
            next("2026-11-27 18:00"),
            Some(local(Tz::UTC, "2026-11-27 19:00"))
        );
        assert_eq!(
            next("2026-11-27 19:00"),
            Some(local(Tz::UTC, "2026-11-30 08:00"))
        );
        assert_eq!(
            next("2026-11-28 12:00"),
            Some(local(Tz::UTC, "2026-11-30 08:00"))
        );
        // A holiday Monday moves the next start to Tuesday.
        assert_eq!(
            s.next_change_after(local(Tz::UTC, "2026-11-27 20:00"), &[date("2026-11-30")]),
            Some(local(Tz::UTC, "2026-12-01 08:00"))
        );
    }

    #[test]
    fn next_change_looks_no_further_than_eight_days() {
        let s = schedule("Mon 08:00-19:00");
        let mondays = [date("2026-11-30"), date("2026-12-07")];
        assert_eq!(
            s.next_change_after(local(Tz::UTC, "2026-11-24 12:00"), &mondays),
            None
        );
    }

    #[test]
    fn parse_errors_quote_the_bad_part_and_say_the_accepted_form() {
        assert_eq!(
            error(" ; "),
            "the schedule is empty: expected days then HH:MM-HH:MM windows, like Mon-Fri \
             08:00-19:00 or Mon-Fri 08:00-12:00,13:00-19:00; Sat 10:00-14:00 Europe/Madrid"
        );
        assert!(error("Mon-Fri").starts_with("\"Mon-Fri\" is not a schedule group: expected"));
        assert!(error("08:00-19:00").starts_with("\"08:00-19:00\" is not a schedule group"));
        assert!(
            error("Mon-Fri 08:00-12:00 13:00-19:00 UTC")
                .starts_with("\"Mon-Fri 08:00-12:00 13:00-19:00 UTC\" is not a schedule group")
        );
        assert!(
            error("Mon-Fri 08:00-12:00 13:00-19:00")
                .starts_with("\"Mon-Fri 08:00-12:00 13:00-19:00\" is not a schedule group")
        );
        assert_eq!(
            error("Mun-Fri 08:00-19:00"),
            "\"Mun\" is not a day: expected Mon, Tue, Wed, Thu, Fri, Sat or Sun, a range like \
             Mon-Fri or a list like Mon,Wed,Fri"
        );
        assert!(error("Mon-Tue-Wed 08:00-19:00").starts_with("\"Tue-Wed\" is not a day"));
        assert!(error("Mon,,Fri 08:00-19:00").starts_with("\"Mon,,Fri\" is not a day"));
        for bad in [
            "8-19",
            "08:00",
            "25:00-26:00",
            "08:00-24:30",
            "24:00-08:00",
            "08:60-09:00",
        ] {
            assert_eq!(
                error(&format!("Mon-Fri {bad}")),
                format!(
                    "\"{bad}\" is not a time window: expected HH:MM-HH:MM between 00:00 and \
                     24:00, like 08:00-19:00, or 22:00-06:00 to run overnight; several windows \
                     are separated by commas"
                )
            );
        }
        assert!(
            error("Mon-Fri 08:00-12:00,12:60-13:00").starts_with("\"12:60-13:00\" is not a time")
        );
        assert_eq!(
            error("Mon-Fri 08:00-08:00"),
            "\"08:00-08:00\" starts and ends at the same time: a window needs a length (for a \
             whole day use 00:00-24:00)"
        );
        assert_eq!(
            error("Mon-Fri 08:00-19:00 Europe/Madird"),
            "\"Europe/Madird\" is not a time zone: expected an IANA name like Europe/Madrid or \
             UTC, once at the end of the schedule"
        );
        assert_eq!(
            error("Mon-Fri 08:00-19:00 Europe/Madrid; Sat 10:00-14:00"),
            "the time zone Europe/Madrid is in the middle of the schedule: it applies to every \
             group, so write it once at the end, like Mon-Fri 08:00-19:00; Sat 10:00-14:00 \
             Europe/Madrid"
        );
    }

    #[test]
    fn zone_names_are_found_in_any_case() {
        assert_eq!(zone_named("Europe/Madrid"), Some(Tz::Europe__Madrid));
        assert_eq!(zone_named("america/new_york"), Some(Tz::America__New_York));
        assert_eq!(zone_named("utc"), Some(Tz::UTC));
        assert_eq!(zone_named("Mars/Olympus"), None);
    }

    #[test]
    fn gap_times_resolve_to_the_end_of_the_gap() {
        let gap = NaiveDateTime::parse_from_str("2026-03-29 02:30", "%Y-%m-%d %H:%M").unwrap();
        assert_eq!(
            resolve(Tz::Europe__Madrid, gap),
            Some(utc("2026-03-29T01:00:00Z"))
        );
        let repeated = NaiveDateTime::parse_from_str("2026-11-01 01:30", "%Y-%m-%d %H:%M").unwrap();
        assert_eq!(
            resolve(Tz::America__New_York, repeated),
            Some(utc("2026-11-01T05:30:00Z"))
        );
    }
}
