//! The `[simulated]` section: the functions and tables a simulated account starts with, their
//! traffic and performance model, and the faults it injects.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use super::check::{self, Bounds};
use super::defaults;
use super::diag::{Diags, hint};
use super::raw::{RawSimFunction, RawSimTable, RawSimulated};
use crate::cloud::ops::Op;
use crate::model::{
    Architecture, BillingMode, SimFaults, SimFunction, SimSettings, SimTable, Tags,
};

const RATE: Bounds = Bounds::between(0.0, 1.0, "");
const NON_NEGATIVE: Bounds = Bounds::at_least(0.0, "");

/// Reports a duplicate name against the line it was first used on; `true` if it is new.
fn first_use(
    d: &mut Diags<'_>,
    seen: &mut BTreeMap<String, usize>,
    what: &str,
    name: &toml::Spanned<String>,
) -> bool {
    let offset = name.span().start;
    if let Some(line) = seen.get(name.get_ref()) {
        d.error_at(
            offset,
            format!(
                "duplicate {what} `{}`: already defined on line {line}",
                name.get_ref()
            ),
        );
        return false;
    }
    seen.insert(name.get_ref().clone(), d.line_of(offset));
    true
}

/// `curve = { 128 = 2400, 512 = 610 }`: median duration in ms by memory size in MB.
/// Bedrock tokens per invocation, by model id: `input_tokens` and `output_tokens`.
fn tokens(d: &mut Diags<'_>, f: &RawSimFunction) -> Vec<(String, f64, f64)> {
    let mut out: Vec<(String, f64, f64)> = Vec::new();
    for (key, map, output) in [
        ("input_tokens", &f.input_tokens, false),
        ("output_tokens", &f.output_tokens, true),
    ] {
        for (model, n) in map.iter().flat_map(|m| m.get_ref()) {
            if *n.get_ref() < 0.0 {
                d.error(
                    &n.span(),
                    format!(
                        "`simulated.functions.{key}`: tokens per invocation must be at least 0"
                    ),
                );
                continue;
            }
            let i = match out.iter().position(|(m, _, _)| m == model.get_ref()) {
                Some(i) => i,
                None => {
                    out.push((model.get_ref().clone(), 0.0, 0.0));
                    out.len() - 1
                }
            };
            if output {
                out[i].2 = *n.get_ref();
            } else {
                out[i].1 = *n.get_ref();
            }
        }
    }
    out
}

fn curve(d: &mut Diags<'_>, f: &RawSimFunction) -> Vec<(u32, f64)> {
    let mut out = Vec::new();
    for (mb, ms) in f.curve.iter().flat_map(|c| c.get_ref()) {
        let memory = mb
            .get_ref()
            .parse::<u32>()
            .ok()
            .filter(|m| (128..=10_240).contains(m));
        match memory {
            None => d.error(
                &mb.span(),
                format!(
                    "`simulated.functions.curve`: key \"{}\" must be a memory size in MB, 128 to 10240",
                    mb.get_ref()
                ),
            ),
            Some(_) if *ms.get_ref() <= 0.0 => d.error(
                &ms.span(),
                "`simulated.functions.curve`: durations must be greater than 0 ms",
            ),
            Some(m) => out.push((m, *ms.get_ref())),
        }
    }
    out.sort_by_key(|(m, _)| *m);
    out
}

fn function(
    d: &mut Diags<'_>,
    f: &RawSimFunction,
    seen: &mut BTreeMap<String, usize>,
) -> Option<SimFunction> {
    let p = |k: &str| format!("simulated.functions.{k}");
    let memory_mb = check::int(
        d,
        &f.memory_mb,
        &p("memory_mb"),
        Bounds::between(128.0, 10240.0, "MB"),
    )
    .unwrap_or(defaults::SIM_MEMORY_MB);
    let used_default = (f64::from(memory_mb) * defaults::SIM_USED_MEMORY_FRACTION) as u32;
    let used_bounds = Bounds::between(1.0, f64::from(memory_mb), "MB (memory_mb)");
    let mut tags = Tags::new();
    for (k, v) in f.tags.iter().flat_map(|t| t.get_ref()) {
        tags.insert(k.get_ref().into(), v.get_ref().into());
    }
    let sim = SimFunction {
        name: String::new(),
        memory_mb,
        timeout_s: check::int(
            d,
            &f.timeout_s,
            &p("timeout_s"),
            Bounds::between(1.0, 900.0, "seconds"),
        )
        .unwrap_or(defaults::SIM_TIMEOUT_S),
        architecture: f
            .architecture
            .as_ref()
            .map_or(Architecture::default(), |a| *a.get_ref()),
        tags,
        peak_rps: check::number(d, &f.peak_rps, &p("peak_rps"), NON_NEGATIVE)
            .unwrap_or(defaults::SIM_PEAK_RPS),
        cpu_ms: check::number(d, &f.cpu_ms, &p("cpu_ms"), NON_NEGATIVE)
            .unwrap_or(defaults::SIM_CPU_MS),
        io_ms: check::number(d, &f.io_ms, &p("io_ms"), NON_NEGATIVE).unwrap_or(defaults::SIM_IO_MS),
        parallelism: check::number(
            d,
            &f.parallelism,
            &p("parallelism"),
            Bounds::between(1.0, 64.0, "threads"),
        )
        .unwrap_or(defaults::SIM_PARALLELISM),
        error_rate: check::number(d, &f.error_rate, &p("error_rate"), RATE)
            .unwrap_or(defaults::SIM_ERROR_RATE),
        used_memory_mb: check::int(d, &f.used_memory_mb, &p("used_memory_mb"), used_bounds)
            .unwrap_or(used_default),
        curve: curve(d, f),
        tokens: tokens(d, f),
        spread: check::number(d, &f.spread, &p("spread"), Bounds::between(0.01, 2.0, "")),
        used_memory_sigma: check::number(
            d,
            &f.used_memory_sigma,
            &p("used_memory_sigma"),
            Bounds::between(0.0, 1.0, ""),
        )
        .unwrap_or(0.03),
        insights: f.insights.as_ref().is_none_or(|b| *b.get_ref()),
        invoked_via: check::text(d, &f.invoked_via, check::is_alias_name, |s| {
            format!("`simulated.functions.invoked_via` \"{s}\" is not a Lambda alias name")
        }),
    };
    let Some(raw_name) = &f.name else {
        d.error_at(f.offset, "missing key `name` in [[simulated.functions]]");
        return None;
    };
    let name = check::text(d, &f.name, check::is_function_name, |s| {
        format!(
            "`simulated.functions.name` \"{s}\" is not a Lambda function name: use 1 to 64 letters, digits, `-` or `_`"
        )
    })?;
    first_use(d, seen, "simulated function", raw_name).then_some(SimFunction { name, ..sim })
}

fn table(
    d: &mut Diags<'_>,
    t: &RawSimTable,
    seen: &mut BTreeMap<String, usize>,
) -> Option<SimTable> {
    let billing_mode = t
        .billing_mode
        .as_ref()
        .map_or(BillingMode::PayPerRequest, |b| *b.get_ref());
    let capacity = |d: &mut Diags<'_>, v: &Option<toml::Spanned<i64>>, key: &str| -> u64 {
        match (&billing_mode, v) {
            (BillingMode::Provisioned, _) => {
                let path = format!("simulated.tables.{key}");
                check::int(d, v, &path, Bounds::between(1.0, 40000.0, "units"))
                    .unwrap_or(defaults::SIM_CAPACITY)
            }
            (BillingMode::PayPerRequest, Some(v)) => {
                let msg = format!(
                    "`simulated.tables.{key}` applies only to billing_mode = \"provisioned\""
                );
                d.error(&v.span(), msg);
                0
            }
            (BillingMode::PayPerRequest, None) => 0,
        }
    };
    let read_capacity = capacity(d, &t.read_capacity, "read_capacity");
    let write_capacity = capacity(d, &t.write_capacity, "write_capacity");
    let peak_reads = check::number(
        d,
        &t.peak_reads,
        "simulated.tables.peak_reads",
        NON_NEGATIVE,
    );
    let peak_writes = check::number(
        d,
        &t.peak_writes,
        "simulated.tables.peak_writes",
        NON_NEGATIVE,
    );
    let mut indexes = Vec::new();
    for index in t.indexes.iter().flat_map(|i| i.get_ref()) {
        if check::is_table_name(index.get_ref()) {
            indexes.push(index.get_ref().clone());
        } else {
            let msg = format!(
                "`simulated.tables.indexes`: \"{}\" is not an index name: use 3 to 255 letters, digits, `_`, `-` or `.`",
                index.get_ref()
            );
            d.error(&index.span(), msg);
        }
    }
    let Some(raw_name) = &t.name else {
        d.error_at(t.offset, "missing key `name` in [[simulated.tables]]");
        return None;
    };
    let name = check::text(d, &t.name, check::is_table_name, |s| {
        format!(
            "`simulated.tables.name` \"{s}\" is not a DynamoDB table name: use 3 to 255 letters, digits, `_`, `-` or `.`"
        )
    })?;
    first_use(d, seen, "simulated table", raw_name).then_some(SimTable {
        name,
        billing_mode,
        indexes,
        read_capacity,
        write_capacity,
        peak_reads: peak_reads.unwrap_or(defaults::SIM_PEAK_UNITS),
        peak_writes: peak_writes.unwrap_or(defaults::SIM_PEAK_UNITS),
    })
}

fn faults(d: &mut Diags<'_>, raw: &RawSimulated) -> SimFaults {
    let f = &raw.faults;
    let mut names: Vec<&str> = Op::ALL.iter().map(|op| op.name()).collect();
    names.sort_unstable();
    names.dedup();
    let mut failing_operations = Vec::new();
    for op in f.failing_operations.iter().flat_map(|o| o.get_ref()) {
        if names.contains(&op.get_ref().as_str()) {
            failing_operations.push(op.get_ref().clone());
        } else {
            let msg = format!(
                "unknown operation `{}` in `simulated.faults.failing_operations`{}",
                op.get_ref(),
                hint(op.get_ref(), &names)
            );
            d.error(&op.span(), msg);
        }
    }
    SimFaults {
        error_rate: check::number(d, &f.error_rate, "simulated.faults.error_rate", RATE)
            .unwrap_or(0.0),
        latency: check::duration(
            d,
            &f.latency,
            "simulated.faults.latency",
            Duration::ZERO,
            Duration::from_secs(60),
        )
        .unwrap_or(Duration::ZERO),
        failing_operations,
    }
}

pub(crate) fn settings(d: &mut Diags<'_>, raw: &RawSimulated) -> SimSettings {
    let state_file = check::text(
        d,
        &raw.state_file,
        |s| !s.trim().is_empty(),
        |_| "`simulated.state_file` must be a file path, found \"\"".to_string(),
    );
    let seed = check::int(d, &raw.seed, "simulated.seed", Bounds::at_least(0.0, ""))
        .unwrap_or(defaults::SIM_SEED);
    let mut seen = BTreeMap::new();
    let functions = raw
        .functions
        .iter()
        .filter_map(|f| function(d, f, &mut seen))
        .collect();
    let mut seen = BTreeMap::new();
    let tables = raw
        .tables
        .iter()
        .filter_map(|t| table(d, t, &mut seen))
        .collect();
    SimSettings {
        state_file: state_file.map(PathBuf::from),
        seed,
        functions,
        tables,
        faults: faults(d, raw),
    }
}
