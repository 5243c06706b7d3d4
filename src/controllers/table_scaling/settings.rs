//! The DynamoDB auto-scaling controller's settings: `[table_scaling]` and a table's
//! `[tables.scaling]` overrides (which have no cooldowns), each minimum checked against its
//! maximum once the layers are combined.

use std::time::Duration;

use serde::Serialize;

use crate::config::pairs::{Side, cooldown, ordered};
use crate::config::read::{Bounds, Diags, Opt, S, Section, check};
use crate::controllers::{EntryCx, SettingsCx};

/// DynamoDB auto scaling accepts target utilizations from 20 to 90 percent.
const TABLE_TARGET: Bounds = Bounds::between(20.0, 90.0, "percent");
/// DynamoDB's default per-table quota of read (and of write) units.
const TABLE_UNITS: Bounds = Bounds::between(1.0, 40000.0, "units");

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TableScaling {
    pub enabled: bool,
    /// Target utilization in percent (DynamoDB accepts 20–90).
    pub target_utilization: f64,
    pub read_min: u32,
    pub read_max: u32,
    pub write_min: u32,
    pub write_max: u32,
    pub disable_scale_in: bool,
    pub scale_in_cooldown_s: Option<u32>,
    pub scale_out_cooldown_s: Option<u32>,
}

/// Per-table overrides of [`TableScaling`]; `None` keeps the default.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct TableScalingOverride {
    pub enabled: Option<bool>,
    pub target_utilization: Option<f64>,
    pub read_min: Option<u32>,
    pub read_max: Option<u32>,
    pub write_min: Option<u32>,
    pub write_max: Option<u32>,
    pub disable_scale_in: Option<bool>,
}

impl TableScaling {
    pub fn with(&self, o: &TableScalingOverride) -> TableScaling {
        TableScaling {
            enabled: o.enabled.unwrap_or(self.enabled),
            target_utilization: o.target_utilization.unwrap_or(self.target_utilization),
            read_min: o.read_min.unwrap_or(self.read_min),
            read_max: o.read_max.unwrap_or(self.read_max),
            write_min: o.write_min.unwrap_or(self.write_min),
            write_max: o.write_max.unwrap_or(self.write_max),
            disable_scale_in: o.disable_scale_in.unwrap_or(self.disable_scale_in),
            scale_in_cooldown_s: self.scale_in_cooldown_s,
            scale_out_cooldown_s: self.scale_out_cooldown_s,
        }
    }
}

// ---- Defaults -----------------------------------------------------------------------------

pub const TABLE_SCALING_ENABLED: bool = true;
/// Percent of provisioned capacity consumed before scaling out, the DynamoDB console's default.
pub const TABLE_TARGET_UTILIZATION: f64 = 70.0;
/// Read and write units, each: the floor matches a new provisioned table's 5 units.
pub const TABLE_MIN_UNITS: u32 = 5;
pub const TABLE_MAX_UNITS: u32 = 1000;
pub const TABLE_DISABLE_SCALE_IN: bool = false;

/// DynamoDB auto scaling with every default.
pub fn defaults() -> TableScaling {
    TableScaling {
        enabled: TABLE_SCALING_ENABLED,
        target_utilization: TABLE_TARGET_UTILIZATION,
        read_min: TABLE_MIN_UNITS,
        read_max: TABLE_MAX_UNITS,
        write_min: TABLE_MIN_UNITS,
        write_max: TABLE_MAX_UNITS,
        disable_scale_in: TABLE_DISABLE_SCALE_IN,
        scale_in_cooldown_s: None,
        scale_out_cooldown_s: None,
    }
}

// ---- The schema as written ----------------------------------------------------------------

/// `[table_scaling]`, or a table's `[tables.scaling]` overrides of it (which have no cooldowns).
pub(super) struct RawScaling {
    /// Dotted path of the table, `table_scaling` or `tables.scaling`, for messages.
    pub path: String,
    pub enabled: Opt<bool>,
    pub target_utilization: Opt<f64>,
    pub read_min: Opt<i64>,
    pub read_max: Opt<i64>,
    pub write_min: Opt<i64>,
    pub write_max: Opt<i64>,
    pub disable_scale_in: Opt<bool>,
    pub scale_in_cooldown: Opt<Duration>,
    pub scale_out_cooldown: Opt<Duration>,
}

/// The keys of `[table_scaling]`; a table's `[tables.scaling]` has the same but the cooldowns.
fn read_scaling(s: &mut Section<'_>, d: &mut Diags<'_>, cooldowns: bool) -> RawScaling {
    let mut raw = RawScaling {
        path: s.path().to_string(),
        enabled: s.bool(d, "enabled"),
        target_utilization: s.number(d, "target_utilization"),
        read_min: s.int(d, "read_min"),
        read_max: s.int(d, "read_max"),
        write_min: s.int(d, "write_min"),
        write_max: s.int(d, "write_max"),
        disable_scale_in: s.bool(d, "disable_scale_in"),
        scale_in_cooldown: None,
        scale_out_cooldown: None,
    };
    if cooldowns {
        raw.scale_in_cooldown = s.duration(d, "scale_in_cooldown");
        raw.scale_out_cooldown = s.duration(d, "scale_out_cooldown");
    }
    raw
}

/// The checked values one scaling layer sets.
struct ScalingLayer {
    enabled: Option<bool>,
    target_utilization: Option<f64>,
    read_min: Option<u32>,
    read_max: Option<u32>,
    write_min: Option<u32>,
    write_max: Option<u32>,
    disable_scale_in: Option<bool>,
}

/// Reads one layer and checks its minimums against its maximums, each pair completed from
/// `below` (keys under `below_path`) where the layer leaves a value out.
fn scaling_layer(
    d: &mut Diags<'_>,
    raw: &RawScaling,
    below: &TableScaling,
    below_path: &str,
) -> ScalingLayer {
    let key = |k: &str| format!("{}.{k}", raw.path);
    let units =
        |d: &mut Diags<'_>, v: &Option<S<i64>>, k: &str| check::int(d, v, &key(k), TABLE_UNITS);
    let layer = ScalingLayer {
        enabled: raw.enabled.as_ref().map(|v| *v.get_ref()),
        target_utilization: check::number(
            d,
            &raw.target_utilization,
            &key("target_utilization"),
            TABLE_TARGET,
        ),
        read_min: units(d, &raw.read_min, "read_min"),
        read_max: units(d, &raw.read_max, "read_max"),
        write_min: units(d, &raw.write_min, "write_min"),
        write_max: units(d, &raw.write_max, "write_max"),
        disable_scale_in: raw.disable_scale_in.as_ref().map(|v| *v.get_ref()),
    };
    let pairs = [
        (
            ("read_min", layer.read_min, &raw.read_min, below.read_min),
            ("read_max", layer.read_max, &raw.read_max, below.read_max),
        ),
        (
            (
                "write_min",
                layer.write_min,
                &raw.write_min,
                below.write_min,
            ),
            (
                "write_max",
                layer.write_max,
                &raw.write_max,
                below.write_max,
            ),
        ),
    ];
    for ((lk, lv, lraw, lbelow), (hk, hv, hraw, hbelow)) in pairs {
        let low = Side::new(&key(lk), lv, lraw, &format!("{below_path}.{lk}"), lbelow);
        let high = Side::new(&key(hk), hv, hraw, &format!("{below_path}.{hk}"), hbelow);
        ordered(d, &low, &high, "");
    }
    layer
}

fn table_scaling(d: &mut Diags<'_>, raw: &RawScaling) -> TableScaling {
    let base = defaults();
    let l = scaling_layer(d, raw, &base, &raw.path);
    let p = |k: &str| format!("{}.{k}", raw.path);
    TableScaling {
        enabled: l.enabled.unwrap_or(base.enabled),
        target_utilization: l.target_utilization.unwrap_or(base.target_utilization),
        read_min: l.read_min.unwrap_or(base.read_min),
        read_max: l.read_max.unwrap_or(base.read_max),
        write_min: l.write_min.unwrap_or(base.write_min),
        write_max: l.write_max.unwrap_or(base.write_max),
        disable_scale_in: l.disable_scale_in.unwrap_or(base.disable_scale_in),
        scale_in_cooldown_s: cooldown(d, &raw.scale_in_cooldown, &p("scale_in_cooldown")),
        scale_out_cooldown_s: cooldown(d, &raw.scale_out_cooldown, &p("scale_out_cooldown")),
    }
}

/// A table's `[tables.scaling]`, checked against the `[table_scaling]` it overrides.
fn table(d: &mut Diags<'_>, raw: &RawScaling, g: &TableScaling) -> TableScalingOverride {
    let l = scaling_layer(d, raw, g, "table_scaling");
    TableScalingOverride {
        enabled: l.enabled,
        target_utilization: l.target_utilization,
        read_min: l.read_min,
        read_max: l.read_max,
        write_min: l.write_min,
        write_max: l.write_max,
        disable_scale_in: l.disable_scale_in,
    }
}

/// Reads and checks `[table_scaling]`.
pub(super) fn read(cx: &mut SettingsCx<'_, '_, '_>) -> TableScaling {
    let d = &mut *cx.d;
    let s = cx.sections.get(d, "table_scaling");
    let raw = read_scaling(s, d, true);
    table_scaling(d, &raw)
}

/// Reads and checks one table's `[tables.scaling]`.
pub(super) fn read_table(cx: &mut EntryCx<'_, '_, '_>, g: &TableScaling) -> TableScalingOverride {
    let d = &mut *cx.d;
    let mut s = cx.section.section(d, "scaling");
    let raw = read_scaling(&mut s, d, false);
    s.finish(d);
    table(d, &raw, g)
}
