//! The report chart: a PNG drawn in-process (plotters on an RGB buffer, text with the embedded DejaVu Sans font),
//! so no system fonts or image tools are needed. Tickets created per day stacked by category, the median first
//! response per day as a line on the right axis, and SLA compliance per clock as bars in the header.

use crate::core::report::{PeriodKind, Report, minutes_text};
use anyhow::{Context, anyhow, bail};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// DejaVu Sans (licence in `assets/DejaVuSans-LICENSE.txt`).
static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
/// The family name the font is registered under with plotters.
const FAMILY: &str = "deskbot-sans";

/// Categories drawn with their own colour; the rest are summed as "other".
const MAX_CATEGORIES: usize = 7;

/// Tableau 10, readable on white and distinct for most colour-vision deficiencies.
const PALETTE: [RGBColor; 8] = [
    RGBColor(78, 121, 167),
    RGBColor(242, 142, 43),
    RGBColor(89, 161, 79),
    RGBColor(176, 122, 161),
    RGBColor(118, 183, 178),
    RGBColor(237, 201, 72),
    RGBColor(156, 117, 95),
    RGBColor(186, 176, 172),
];
/// Each shipped category keeps its colour from week to week (a manager learns that orange is printing); other
/// categories take one by their name, and the summed rest is grey.
const CATEGORY_ORDER: [&str; 7] = ["identity", "endpoint", "printing", "network", "saas", "application", "security"];
const OTHER: RGBColor = PALETTE[7];

fn category_colour(cat: &str) -> RGBColor {
    if cat == "other" {
        return OTHER;
    }
    match CATEGORY_ORDER.iter().position(|c| *c == cat) {
        Some(i) => PALETTE[i],
        // FNV-1a over the name: stable across runs and builds, unlike the standard hasher.
        None => {
            let h = cat.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3));
            PALETTE[(h % 7) as usize]
        }
    }
}

/// The top of the right (minutes) axis: a round number of minutes a little above the largest median, so that a
/// one-minute median is not drawn against an hour.
fn minutes_axis_top(max_minutes: u64) -> f64 {
    const STEPS: [u64; 16] = [5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 240, 360, 480, 720, 960, 1440];
    let want = (max_minutes.max(1) as f64 * 1.15).ceil() as u64;
    let top = STEPS.iter().copied().find(|&s| s >= want).unwrap_or_else(|| want.div_ceil(480) * 480);
    top as f64
}

const LINE: RGBColor = RGBColor(200, 40, 40);
const INK: RGBColor = RGBColor(40, 40, 40);
const MUTED: RGBColor = RGBColor(110, 110, 110);

fn register_font() -> anyhow::Result<()> {
    static DONE: OnceLock<bool> = OnceLock::new();
    let ok = *DONE.get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    if ok { Ok(()) } else { Err(anyhow!("the embedded chart font could not be loaded")) }
}

/// Renders the report's chart as a PNG of `width` × `height` pixels (1200 × 675 suits chat previews).
pub fn render_png(report: &Report, width: u32, height: u32) -> anyhow::Result<Vec<u8>> {
    if !(320..=8000).contains(&width) || !(200..=8000).contains(&height) {
        bail!("chart size {width}x{height} is out of range (320x200 to 8000x8000)");
    }
    register_font()?;
    let mut rgb = vec![255u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (width, height)).into_drawing_area();
        draw(&root, report, width, height).map_err(|e| anyhow!("drawing the chart: {e}"))?;
        root.present().map_err(|e| anyhow!("drawing the chart: {e}"))?;
    }
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, width, height);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut w = enc.write_header().context("encoding the chart")?;
    w.write_image_data(&rgb).context("encoding the chart")?;
    w.finish().context("encoding the chart")?;
    Ok(out)
}

type DrawResult<T> = Result<T, Box<dyn std::error::Error>>;

fn font(px: f64) -> TextStyle<'static> {
    (FAMILY, px).into_font().color(&INK)
}

fn sla_colour(p: f64) -> RGBColor {
    if p >= 90.0 {
        RGBColor(89, 161, 79)
    } else if p >= 75.0 {
        RGBColor(237, 161, 43)
    } else {
        RGBColor(214, 69, 65)
    }
}

/// The line under the title: volume, median first response and the backlog (at the end of a past period, live for
/// the running one).
fn headline(r: &Report) -> String {
    let v = &r.volume;
    let change = if v.change > 0 { format!("+{}", v.change) } else { v.change.to_string() };
    let median = r.first_response.median_minutes.map_or_else(|| "n/a".to_string(), minutes_text);
    let backlog = match (r.backlog.live, r.period.kind) {
        (true, _) => format!("backlog {} open", r.backlog.open),
        (false, PeriodKind::Week) => format!("{} open at the end of the week", r.backlog.open),
        (false, PeriodKind::Month) => format!("{} open at the end of the month", r.backlog.open),
    };
    format!("{} tickets ({change}) · median first response {median} · {backlog}", v.total)
}

/// Most labels on the left axis.
const COUNT_LABELS: usize = 8;

/// The left axis: tickets per day on a whole-number range (a count of tickets has no halves, so no label can
/// repeat), with head-room above the busiest day.
fn count_axis(max_day: u64) -> std::ops::Range<u64> {
    0..(max_day.max(4) as f64 * 1.15).ceil() as u64
}

/// The values labelled on the left axis: plotters' key points for the range and label count the chart uses.
#[cfg(test)]
fn count_labels(max_day: u64) -> Vec<u64> {
    use plotters::coord::ranged1d::Ranged;
    use plotters::coord::types::RangedCoordu64;
    RangedCoordu64::from(count_axis(max_day)).key_points(COUNT_LABELS)
}

/// The median-first-response line as runs of consecutive days with answers: a day without any is a gap in the
/// line, never bridged.
fn frt_runs(r: &Report) -> Vec<Vec<(f64, f64)>> {
    let mut runs: Vec<Vec<(f64, f64)>> = vec![];
    let mut last: Option<usize> = None;
    for (i, d) in r.days.iter().enumerate() {
        let Some(m) = d.first_response_median_minutes else { continue };
        match runs.last_mut() {
            Some(run) if last.is_some_and(|l| l + 1 == i) => run.push((i as f64, m as f64)),
            _ => runs.push(vec![(i as f64, m as f64)]),
        }
        last = Some(i);
    }
    runs
}

fn draw(root: &DrawingArea<BitMapBackend<'_>, Shift>, r: &Report, width: u32, height: u32) -> DrawResult<()> {
    root.fill(&WHITE)?;
    let s = f64::from(width.min(height * 16 / 9)) / 1200.0;
    let px = |v: f64| (v * s).round() as i32;
    let header_h = px(132.0).max(60) as u32;
    let (header, body) = root.split_vertically(header_h);

    // Header: title and headline numbers on the left, SLA bars on the right.
    header.draw(&Text::new(format!("IT helpdesk: {}", r.period.label), (px(24.0), px(16.0)), font(32.0 * s)))?;
    header.draw(&Text::new(headline(r), (px(24.0), px(62.0)), font(21.0 * s).color(&MUTED)))?;

    let bar_x = width as i32 - px(330.0);
    let bar_w = px(150.0);
    let mut y = px(14.0);
    let measured: Vec<_> = r.sla.iter().filter(|c| c.percent.is_some()).collect();
    header.draw(&Text::new("SLA met", (bar_x, y), font(18.0 * s).color(&MUTED)))?;
    y += px(24.0);
    if measured.is_empty() {
        header.draw(&Text::new("nothing measured", (bar_x, y), font(17.0 * s).color(&MUTED)))?;
    }
    for c in measured.iter().take(3) {
        let p = c.percent.unwrap_or(0.0);
        let label = Text::new(
            c.clock.label().to_string(),
            (bar_x - px(8.0), y + px(9.0)),
            font(16.0 * s).pos(Pos::new(HPos::Right, VPos::Center)),
        );
        header.draw(&label)?;
        let x0 = bar_x;
        header.draw(&Rectangle::new([(x0, y), (x0 + bar_w, y + px(18.0))], RGBColor(230, 230, 230).filled()))?;
        let filled = (f64::from(bar_w) * p / 100.0).round() as i32;
        header.draw(&Rectangle::new([(x0, y), (x0 + filled, y + px(18.0))], sla_colour(p).filled()))?;
        let pct = Text::new(
            format!("{p:.1}% ({}/{})", c.met, c.met + c.breached),
            (x0 + bar_w + px(8.0), y + px(9.0)),
            font(16.0 * s).pos(Pos::new(HPos::Left, VPos::Center)),
        );
        header.draw(&pct)?;
        y += px(23.0);
    }

    // Series: per-day stacked counts by category (largest categories first, the rest as "other").
    let mut cats: Vec<String> = r.volume.by_category.iter().filter(|c| c.count > 0).map(|c| c.key.clone()).collect();
    let other = cats.len() > MAX_CATEGORIES;
    cats.truncate(if other { MAX_CATEGORIES - 1 } else { MAX_CATEGORIES });
    let n = r.days.len().max(1);
    let mut stacks: Vec<Vec<u64>> = vec![vec![0; n]; cats.len() + usize::from(other)];
    for (i, d) in r.days.iter().enumerate() {
        for (cat, &count) in &d.by_category {
            let k = cats.iter().position(|c| c == cat).unwrap_or(cats.len());
            if k < stacks.len() {
                stacks[k][i] += count;
            }
        }
    }
    if other {
        cats.push("other".into());
    }
    let max_day = r.days.iter().map(|d| d.created).max().unwrap_or(0);
    let y_range = count_axis(max_day);
    let frt_max_data = r.days.iter().filter_map(|d| d.first_response_median_minutes).max().unwrap_or(0);
    let frt_max = minutes_axis_top(frt_max_data.max(0) as u64);

    let labels: BTreeMap<i64, String> = r
        .days
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let l = if n <= 7 { d.date.format("%a %-d %b").to_string() } else { d.date.format("%-d").to_string() };
            (i as i64, l)
        })
        .collect();
    let x_range = -0.5f64..(n as f64 - 0.5);
    let mut chart = ChartBuilder::on(&body)
        .margin_left(px(16.0))
        .margin_right(px(16.0))
        .margin_bottom(px(12.0))
        .x_label_area_size(px(44.0))
        .y_label_area_size(px(70.0))
        .right_y_label_area_size(px(80.0))
        .build_cartesian_2d(x_range.clone(), y_range)?
        .set_secondary_coord(x_range, 0f64..frt_max);
    let x_fmt = |x: &f64| {
        let i = x.round();
        if (x - i).abs() < 1e-6 { labels.get(&(i as i64)).cloned().unwrap_or_default() } else { String::new() }
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(if n <= 7 { n + 1 } else { n / 2 + 1 })
        .x_label_formatter(&x_fmt)
        .y_labels(COUNT_LABELS)
        .y_label_formatter(&|y| y.to_string())
        .y_desc("tickets created")
        .label_style(font(17.0 * s))
        .axis_desc_style(font(18.0 * s))
        .light_line_style(RGBColor(240, 240, 240))
        .bold_line_style(RGBColor(225, 225, 225))
        .draw()?;
    chart
        .configure_secondary_axes()
        .y_desc("median first response (business min)")
        .y_label_formatter(&|y| format!("{y:.0}"))
        .label_style(font(17.0 * s).color(&LINE))
        .axis_desc_style(font(18.0 * s).color(&LINE))
        .draw()?;

    let half = 0.36;
    let mut base = vec![0u64; n];
    for k in 0..cats.len() {
        let colour = category_colour(&cats[k]);
        let bars: Vec<Rectangle<(f64, u64)>> = (0..n)
            .filter(|&i| stacks[k][i] > 0)
            .map(|i| {
                let (x, y0, y1) = (i as f64, base[i], base[i] + stacks[k][i]);
                Rectangle::new([(x - half, y0), (x + half, y1)], colour.filled())
            })
            .collect();
        for i in 0..n {
            base[i] += stacks[k][i];
        }
        chart.draw_series(bars)?;
    }
    // Day totals above the bars.
    chart.draw_series(r.days.iter().enumerate().filter(|(_, d)| d.created > 0).map(|(i, d)| {
        Text::new(
            d.created.to_string(),
            (i as f64, d.created),
            font(15.0 * s).pos(Pos::new(HPos::Center, VPos::Bottom)),
        )
    }))?;

    let runs = frt_runs(r);
    let points: Vec<(f64, f64)> = runs.iter().flatten().copied().collect();
    if !points.is_empty() {
        let stroke = px(3.0).max(1) as u32;
        let dot = px(6.0).max(2);
        for run in runs.iter().filter(|run| run.len() > 1) {
            chart.draw_secondary_series(LineSeries::new(run.clone(), LINE.stroke_width(stroke)))?;
        }
        chart.draw_secondary_series(points.iter().map(|&p| Circle::new(p, dot, LINE.filled())))?;
    }
    // Legend: one row under the headline, outside the plot so it never hides a bar.
    let legend_style = font(17.0 * s);
    let (mut x, y) = (px(24.0), px(112.0));
    let sz = px(8.0);
    for cat in &cats {
        let colour = category_colour(cat);
        header.draw(&Rectangle::new([(x, y - sz), (x + 2 * sz, y + sz)], colour.filled()))?;
        x += 2 * sz + px(6.0);
        header.draw(&Text::new(cat.clone(), (x, y), legend_style.pos(Pos::new(HPos::Left, VPos::Center))))?;
        x += header.estimate_text_size(cat, &legend_style)?.0 as i32 + px(18.0);
    }
    if !points.is_empty() {
        let stroke = px(3.0).max(1) as u32;
        header.draw(&PathElement::new(vec![(x, y), (x + 3 * sz, y)], LINE.stroke_width(stroke)))?;
        header.draw(&Circle::new((x + 3 * sz / 2, y), px(5.0).max(2), LINE.filled()))?;
        x += 3 * sz + px(6.0);
        let label = "median first response (right axis)";
        header.draw(&Text::new(label, (x, y), legend_style.color(&LINE).pos(Pos::new(HPos::Left, VPos::Center))))?;
    }
    if r.volume.total == 0 && points.is_empty() {
        let (w, h) = body.dim_in_pixel();
        body.draw(&Text::new(
            "No tickets this period",
            (w as i32 / 2, h as i32 / 2),
            font(28.0 * s).color(&MUTED).pos(Pos::new(HPos::Center, VPos::Center)),
        ))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::calendar::Calendar;
    use crate::core::ids::TicketNo;
    use crate::core::report::{
        BacklogFacts, ClockBreach, Period, PeriodFacts, PeriodKind, SignalFacts, TicketFacts, build,
    };
    use crate::core::ticket::{Priority, SlaClock, State, TicketType};
    use chrono::{Duration, NaiveDate, TimeZone, Utc};

    fn sample(empty: bool) -> Report {
        let tz = chrono_tz::Europe::London;
        let period = Period::containing(NaiveDate::from_ymd_opt(2026, 3, 4).unwrap(), PeriodKind::Week, tz);
        let cats = ["printing", "network", "identity", "email", "hardware", "software", "access", "vpn", "phones"];
        let mut tickets = vec![];
        if !empty {
            let mut x: u64 = 42;
            for n in 0..80 {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let day = (x >> 33) % 7;
                let hour = 8 + (x >> 40) % 9;
                let created = period.start + Duration::days(day as i64) + Duration::hours(hour as i64);
                let cat = cats[((x >> 20) % 9).min((x >> 24) % 9) as usize];
                let mut f = TicketFacts::new(TicketNo(n), cat, TicketType::Incident, Priority::P3, created);
                f.state = State::Open;
                f.first_response_at = Some(created + Duration::minutes(5 + ((x >> 12) % 90) as i64));
                if n % 9 == 0 {
                    f.breaches.push(ClockBreach { clock: SlaClock::FirstResponse, due: created });
                }
                if n % 3 == 0 {
                    f.resolutions.push(created + Duration::hours(3));
                }
                tickets.push(f);
            }
        }
        let facts = PeriodFacts { tickets, fingerprints_30d: vec![] };
        let at = Utc.with_ymd_and_hms(2026, 3, 9, 8, 0, 0).unwrap();
        build(
            &period,
            &facts,
            &PeriodFacts::default(),
            &BacklogFacts::from_open(at, []),
            &SignalFacts::default(),
            &Calendar::always(),
        )
    }

    fn png_size(png: &[u8]) -> (u32, u32) {
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&png[12..16], b"IHDR");
        let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        (be(&png[16..20]), be(&png[20..24]))
    }

    #[test]
    fn renders_a_png_of_the_asked_size() {
        let png = render_png(&sample(false), 1200, 675).unwrap();
        assert_eq!(png_size(&png), (1200, 675));
        if let Ok(path) = std::env::var("DESKBOT_CHART_OUT") {
            std::fs::write(path, &png).unwrap();
        }
        // A real picture, not a blank one: a blank 1200×675 RGB PNG compresses to a few kilobytes.
        assert!(png.len() > 15_000, "{}", png.len());
    }

    #[test]
    fn renders_an_empty_report_and_other_sizes() {
        let png = render_png(&sample(true), 1200, 675).unwrap();
        assert_eq!(png_size(&png), (1200, 675));
        let png = render_png(&sample(false), 600, 400).unwrap();
        assert_eq!(png_size(&png), (600, 400));
        assert!(render_png(&sample(true), 10, 10).is_err());
    }

    #[test]
    fn left_axis_labels_each_whole_number_once() {
        // A quiet week (busiest day 1 ticket): the axis is at least 0..4 × 1.15 = 4.6, rounded up to 5, and is
        // labelled 0, 1, 2, 3, 4, 5 — never "0 1 1 2 2" from half steps.
        assert_eq!(count_labels(1), vec![0, 1, 2, 3, 4, 5]);
        // Busiest day 20: 20 × 1.15 = 23 → 0..23, at most 8 labels, in whole steps.
        let l = count_labels(20);
        assert!(l.len() <= COUNT_LABELS && l.len() >= 3, "{l:?}");
        for max_day in 0..300 {
            let l = count_labels(max_day);
            assert!(l.windows(2).all(|w| w[0] < w[1]), "{max_day}: {l:?}");
            assert!(l.len() >= 2, "{max_day}: {l:?}");
        }
    }

    #[test]
    fn first_response_line_is_not_drawn_across_days_without_answers() {
        let mut r = sample(true);
        let medians = [Some(10), Some(20), None, Some(5), Some(7), None, Some(3)];
        for (d, m) in r.days.iter_mut().zip(medians) {
            d.first_response_median_minutes = m;
        }
        assert_eq!(frt_runs(&r), vec![vec![(0.0, 10.0), (1.0, 20.0)], vec![(3.0, 5.0), (4.0, 7.0)], vec![(6.0, 3.0)]]);
        assert!(frt_runs(&sample(true)).is_empty());
    }

    #[test]
    fn headline_backlog_is_at_the_end_of_a_past_period() {
        let tz = chrono_tz::Europe::London;
        let period = Period::containing(NaiveDate::from_ymd_opt(2026, 3, 4).unwrap(), PeriodKind::Week, tz);
        // Five tickets open today, all raised after the week ended: the week itself was empty.
        let later: Vec<TicketFacts> = (1..=5)
            .map(|n| {
                let created = period.end + Duration::days(3) + Duration::hours(n);
                TicketFacts::new(TicketNo(n), "printing", TicketType::Incident, Priority::P3, created)
            })
            .collect();
        let facts = PeriodFacts { tickets: later.clone(), fingerprints_30d: vec![] };
        let build_with = |b: &BacklogFacts| {
            build(&period, &facts, &PeriodFacts::default(), b, &SignalFacts::default(), &Calendar::always())
        };
        let past = build_with(&BacklogFacts::from_facts(period.end, false, &later));
        assert_eq!(headline(&past), "0 tickets (0) · median first response n/a · 0 open at the end of the week");
        let now = period.end + Duration::days(5);
        let live = build_with(&BacklogFacts::from_facts(now, true, &later));
        assert_eq!(headline(&live), "0 tickets (0) · median first response n/a · backlog 5 open");
    }

    #[test]
    fn renders_a_month() {
        let mut r = sample(false);
        let tz = chrono_tz::Europe::London;
        let m = Period::containing(NaiveDate::from_ymd_opt(2026, 3, 4).unwrap(), PeriodKind::Month, tz);
        let mut days = vec![];
        for (i, date) in m.days().into_iter().enumerate() {
            let mut d = r.days[i % 7].clone();
            d.date = date;
            days.push(d);
        }
        r.days = days;
        let png = render_png(&r, 1200, 675).unwrap();
        assert_eq!(png_size(&png), (1200, 675));
        if let Ok(path) = std::env::var("DESKBOT_CHART_MONTH_OUT") {
            std::fs::write(path, &png).unwrap();
        }
    }

    #[test]
    fn a_category_keeps_its_colour_whatever_its_rank() {
        assert_eq!(category_colour("printing"), PALETTE[2]);
        assert_eq!(category_colour("other"), OTHER);
        assert_eq!(category_colour("facilities"), category_colour("facilities"));
        let shipped: std::collections::HashSet<_> =
            CATEGORY_ORDER.iter().map(|c| category_colour(c)).map(|c| (c.0, c.1, c.2)).collect();
        assert_eq!(shipped.len(), CATEGORY_ORDER.len(), "each shipped category has a colour of its own");
        assert!(!shipped.contains(&(OTHER.0, OTHER.1, OTHER.2)), "grey is only for the summed rest");
    }

    #[test]
    fn the_minutes_axis_fits_the_data() {
        // A one-minute median: 1 × 1.15 → 2 → the first step, 5 minutes (it was drawn against 69).
        assert_eq!(minutes_axis_top(1), 5.0);
        assert_eq!(minutes_axis_top(0), 5.0);
        // 40 min × 1.15 = 46 → 60; 200 × 1.15 = 230 → 240; 2000 × 1.15 = 2300 → 5 × 480 = 2400.
        assert_eq!(minutes_axis_top(40), 60.0);
        assert_eq!(minutes_axis_top(200), 240.0);
        assert_eq!(minutes_axis_top(2000), 2400.0);
    }
}
