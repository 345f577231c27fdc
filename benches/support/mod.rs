//! The timing helper every bench shares, on `std::time::Instant` alone.
//!
//! A figure is measured as: a warm-up (caches, branch predictors, the
//! allocator and TCP all settle), then several samples of a fixed length,
//! each giving a rate. The figure is the median sample, and its spread is
//! the lowest and highest sample, so a reader can see how far to trust it:
//! this machine is shared and noisy, and one lucky run proves nothing.
//!
//! `HTTPDB_BENCH_QUICK=1` shortens everything (fewer, shorter samples,
//! smaller data sets) for a CI-sized check that the benches still run.
//!
//! Results go to stdout as tables, and to `target/httpdb-bench/` as CSV
//! (and, for the server, an SVG chart).

#![allow(dead_code)]

use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How long and how often to measure.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    pub warmup: Duration,
    pub sample: Duration,
    pub samples: usize,
    /// Whether this is the quick CI-sized run.
    pub quick: bool,
}

impl Plan {
    /// The plan for this run: full, or quick with `HTTPDB_BENCH_QUICK=1`.
    pub fn from_env() -> Plan {
        let quick = std::env::var("HTTPDB_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
        if quick {
            Plan {
                warmup: Duration::from_millis(50),
                sample: Duration::from_millis(100),
                samples: 3,
                quick,
            }
        } else {
            Plan {
                warmup: Duration::from_millis(300),
                sample: Duration::from_millis(700),
                samples: 5,
                quick,
            }
        }
    }

    /// A size for the full run, or a smaller one for the quick run.
    pub fn size(&self, full: usize, quick: usize) -> usize {
        if self.quick { quick } else { full }
    }
}

/// The median of some samples, and their range.
#[derive(Clone, Copy, Debug, Default)]
pub struct Figure {
    pub median: f64,
    pub low: f64,
    pub high: f64,
}

impl Figure {
    pub fn of(mut values: Vec<f64>) -> Figure {
        assert!(!values.is_empty(), "a figure needs samples");
        values.sort_by(f64::total_cmp);
        Figure {
            median: values[values.len() / 2],
            low: values[0],
            high: values[values.len() - 1],
        }
    }

    /// The spread as a percentage of the median, for the tables.
    pub fn spread_percent(&self) -> f64 {
        if self.median == 0.0 {
            0.0
        } else {
            (self.high - self.low) / self.median * 100.0
        }
    }
}

/// Runs `operation` (which does some work and says how many operations it
/// did) over and over: a warm-up, then `plan.samples` samples of
/// `plan.sample` each. Returns operations per second.
pub fn rate(plan: &Plan, mut operation: impl FnMut() -> u64) -> Figure {
    run_for(plan.warmup, &mut operation);
    let samples = (0..plan.samples)
        .map(|_| {
            let (operations, elapsed) = run_for(plan.sample, &mut operation);
            operations as f64 / elapsed.as_secs_f64()
        })
        .collect();
    Figure::of(samples)
}

fn run_for(time: Duration, operation: &mut impl FnMut() -> u64) -> (u64, Duration) {
    let started = Instant::now();
    let mut operations = 0;
    loop {
        operations += operation();
        let elapsed = started.elapsed();
        if elapsed >= time {
            return (operations, elapsed);
        }
    }
}

/// Latency percentiles from one sample's measurements.
#[derive(Clone, Copy, Debug, Default)]
pub struct Latency {
    pub p50: Duration,
    pub p99: Duration,
    pub p999: Duration,
}

impl Latency {
    pub fn of(mut latencies: Vec<Duration>) -> Latency {
        if latencies.is_empty() {
            return Latency::default();
        }
        latencies.sort_unstable();
        let at =
            |fraction: f64| latencies[((latencies.len() - 1) as f64 * fraction).round() as usize];
        Latency {
            p50: at(0.50),
            p99: at(0.99),
            p999: at(0.999),
        }
    }
}

/// A table printed as it fills, and written as CSV at the end.
pub struct Table {
    name: String,
    columns: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(name: &str, title: &str, columns: &[&str]) -> Table {
        println!("\n{title}");
        let table = Table {
            name: name.to_string(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: Vec::new(),
        };
        table.print_row(&table.columns);
        println!("{}", "-".repeat(table.columns.len() * 16));
        table
    }

    pub fn row(&mut self, cells: Vec<String>) {
        assert_eq!(cells.len(), self.columns.len());
        self.print_row(&cells);
        self.rows.push(cells);
    }

    fn print_row(&self, cells: &[String]) {
        let mut line = String::new();
        for (index, cell) in cells.iter().enumerate() {
            let width = if index == 0 { 34 } else { 15 };
            let _ = write!(line, "{cell:<width$} ");
        }
        println!("{}", line.trim_end());
    }

    /// Writes `target/httpdb-bench/<name>.csv`.
    pub fn save_csv(&self) -> PathBuf {
        let path = output_dir().join(format!("{}.csv", self.name));
        let mut text = self.columns.join(",");
        text.push('\n');
        for row in &self.rows {
            let quoted: Vec<String> = row
                .iter()
                .map(|cell| format!("\"{}\"", cell.replace('"', "'")))
                .collect();
            text.push_str(&quoted.join(","));
            text.push('\n');
        }
        if let Err(error) = fs::write(&path, text) {
            eprintln!("cannot write {}: {error}", path.display());
        }
        path
    }
}

/// Where results go: `target/httpdb-bench`, next to the build.
pub fn output_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("httpdb-bench");
    let _ = fs::create_dir_all(&dir);
    dir
}

/// `12345.6` as `12.3k`, `1234567` as `1.23M`.
pub fn human(value: f64) -> String {
    if value >= 1e6 {
        format!("{:.2}M", value / 1e6)
    } else if value >= 1e3 {
        format!("{:.1}k", value / 1e3)
    } else {
        format!("{value:.0}")
    }
}

/// A rate with its spread: `57.3k ±4%`.
pub fn with_spread(figure: &Figure) -> String {
    format!(
        "{} ±{:.0}%",
        human(figure.median),
        figure.spread_percent() / 2.0
    )
}

/// A duration in the unit that reads best.
pub fn micros(duration: Duration) -> String {
    let us = duration.as_secs_f64() * 1e6;
    if us >= 10_000.0 {
        format!("{:.1} ms", us / 1000.0)
    } else if us >= 1000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{us:.0} µs")
    }
}

/// One line of a chart: a name and `(x, y)` points.
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// Draws line charts side by side, one per `(title, unit, series)` panel,
/// with a logarithmic x axis (client counts), into an SVG file.
pub fn save_svg(file: &str, heading: &str, panels: &[(&str, &str, Vec<Series>)]) -> PathBuf {
    const WIDTH: f64 = 460.0;
    const HEIGHT: f64 = 300.0;
    const MARGIN: f64 = 60.0;
    const COLOURS: [&str; 6] = [
        "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
    ];
    let total_width = WIDTH * panels.len() as f64;
    let mut svg = format!(
        "<svg xmlns='http://www.w3.org/2000/svg' width='{total_width}' height='{}' font-family='sans-serif' font-size='12'>\n\
         <rect width='100%' height='100%' fill='white'/>\n\
         <text x='{}' y='20' text-anchor='middle' font-size='15'>{heading}</text>\n",
        HEIGHT + 40.0,
        total_width / 2.0
    );
    for (panel, (title, unit, series)) in panels.iter().enumerate() {
        let left = panel as f64 * WIDTH + MARGIN;
        let top = 50.0;
        let plot_width = WIDTH - MARGIN - 20.0;
        let plot_height = HEIGHT - 70.0;
        let points = series.iter().flat_map(|s| s.points.iter());
        let (min_x, max_x) = points.clone().fold((f64::MAX, f64::MIN), |(lo, hi), p| {
            (lo.min(p.0), hi.max(p.0))
        });
        let max_y = points.fold(0.0f64, |hi, p| hi.max(p.1)) * 1.1;
        let max_y = if max_y > 0.0 { max_y } else { 1.0 };
        let x_of = |x: f64| {
            let span = (max_x.ln() - min_x.ln()).max(1e-9);
            left + (x.ln() - min_x.ln()) / span * plot_width
        };
        let y_of = |y: f64| top + plot_height - y / max_y * plot_height;
        let _ = writeln!(
            svg,
            "<text x='{}' y='{}' text-anchor='middle' font-size='13'>{title}</text>\n\
             <line x1='{left}' y1='{}' x2='{}' y2='{}' stroke='black'/>\n\
             <line x1='{left}' y1='{top}' x2='{left}' y2='{}' stroke='black'/>\n\
             <text x='{}' y='{}' text-anchor='middle'>clients (log scale)</text>\n\
             <text x='{}' y='{}' transform='rotate(-90 {} {})' text-anchor='middle'>{unit}</text>",
            left + plot_width / 2.0,
            top - 8.0,
            top + plot_height,
            left + plot_width,
            top + plot_height,
            top + plot_height,
            left + plot_width / 2.0,
            top + plot_height + 32.0,
            left - 45.0,
            top + plot_height / 2.0,
            left - 45.0,
            top + plot_height / 2.0
        );
        for tick in 0..=4 {
            let value = max_y * tick as f64 / 4.0;
            let y = y_of(value);
            let _ = writeln!(
                svg,
                "<line x1='{}' y1='{y}' x2='{left}' y2='{y}' stroke='black'/><text x='{}' y='{}' text-anchor='end'>{}</text>",
                left - 4.0,
                left - 6.0,
                y + 4.0,
                human(value)
            );
        }
        let mut xs: Vec<f64> = series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0))
            .collect();
        xs.sort_by(f64::total_cmp);
        xs.dedup();
        for x in xs {
            let _ = writeln!(
                svg,
                "<text x='{}' y='{}' text-anchor='middle'>{x}</text>",
                x_of(x),
                top + plot_height + 16.0
            );
        }
        for (index, line) in series.iter().enumerate() {
            let colour = COLOURS[index % COLOURS.len()];
            let path: Vec<String> = line
                .points
                .iter()
                .map(|&(x, y)| format!("{:.1},{:.1}", x_of(x), y_of(y)))
                .collect();
            let _ = writeln!(
                svg,
                "<polyline fill='none' stroke='{colour}' stroke-width='2' points='{}'/>\n\
                 <text x='{}' y='{}' fill='{colour}'>{}</text>",
                path.join(" "),
                left + 10.0,
                top + 14.0 + 15.0 * index as f64,
                line.name
            );
        }
    }
    svg.push_str("</svg>\n");
    let path = output_dir().join(file);
    if let Err(error) = fs::write(&path, svg) {
        eprintln!("cannot write {}: {error}", path.display());
    }
    path
}
