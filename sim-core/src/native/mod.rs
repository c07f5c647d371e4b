//! Reading the configs teams already run.
//!
//! A native file (an `nginx.conf` today) becomes a scenario *fragment*:
//! the `deployment` keys its directives mean, as the software that reads
//! the file would behave (its defaults included), and a *mapping report*
//! that accounts for every directive: the keys it became, or why it was
//! ignored (no simulation meaning), or what is lost because fleetsim
//! cannot express it yet. Nothing is dropped silently.
//!
//! `fleetsim import FILE` prints both; a scenario takes the fragment by
//! reference with `"deployment": { "import": "nginx.conf" }`
//! ([`crate::scenario`] merges it under the scenario's own keys).
//!
//! | format | file | directives read |
//! |---|---|---|
//! | [`Format::Nginx`] | [`nginx`] | `upstream` (balancing, servers and their parameters), `proxy_next_upstream*`, `proxy_*_timeout`, `limit_req_zone`/`limit_req`, `limit_conn_zone`/`limit_conn`, the `check` and `sticky` modules |
//! | [`Format::Kubernetes`] | [`kubernetes`] | a `Deployment` (replicas, CPU and memory limits, readiness probe, grace period), `HorizontalPodAutoscaler` v2 and v1, KEDA `ScaledObject` (cpu, memory, prometheus triggers, behavior) |
//! | [`Format::Caddy`] | `caddy` | a Caddyfile's `reverse_proxy`: upstreams, `lb_policy`, `lb_retries`/`lb_try_duration`/`lb_try_interval`, active and passive health, `unhealthy_request_count` |
//! | [`Format::Agentflow`], [`Format::ConfigCsv`], [`Format::DeploymentJson`] | `seeds` | the seed docs' own files: AgenticGoKit's `agentflow.toml`, General Bots' `config.csv`, SwiftClaw's deployment JSON |
//! | [`Format::Aws`] | `aws` | AWS Application Auto Scaling for ECS, as the API's JSON, a CloudFormation template or Terraform: scalable target, step scaling policies with their CloudWatch alarms, target tracking, the ECS service's `DesiredCount` |
//! | [`Format::Envoy`] | `envoy` | a cluster (bootstrap, list or one cluster; YAML or JSON): `lb_policy`, `least_request_lb_config`, `load_assignment` (priorities, weights, localities, overprovisioning factor), `health_checks`, `outlier_detection`, `circuit_breakers`, `common_lb_config.healthy_panic_threshold`; its route's `timeout` and `retry_policy` |
//! | [`Format::Traefik`] | `traefik` | dynamic configuration (YAML or TOML): an `http.services` entry (`loadBalancer` servers, weights, `strategy`, `healthCheck`, `passiveHealthCheck`, `sticky`, `serversTransport` timeouts; `weighted` and `failover` services) and the `retry`, `rateLimit`, `inFlightReq`, `circuitBreaker` middlewares of its router |
//! | [`Format::Haproxy`] | [`haproxy`] | a `backend` or `listen` with its `defaults`: `balance`, `server` and `default-server` options (weight, check, inter, rise, fall, backup, disabled), `retries`, `retry-on`, `option redispatch`, `timeout server/check/connect` |

mod aws;
mod caddy;
mod conf;
mod envoy;
pub mod haproxy;
mod hcl;
pub mod kubernetes;
pub mod nginx;
mod seeds;
mod traefik;
mod tree;

use crate::error::ScenarioError;
use serde::Serialize;
use serde_json::{Map, Value};
use std::fmt;
use std::path::{Path, PathBuf};

/// Largest native file read.
const MAX_NATIVE_BYTES: u64 = 8 << 20;

/// A native config format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// nginx's configuration language (`nginx.conf`, `conf.d/*.conf`).
    Nginx,
    /// HAProxy's configuration (`haproxy.cfg`).
    Haproxy,
    /// Kubernetes manifests (YAML): Deployment, HorizontalPodAutoscaler,
    /// KEDA ScaledObject.
    Kubernetes,
    /// A Caddyfile's `reverse_proxy`.
    Caddy,
    /// AgenticGoKit's `agentflow.toml`.
    Agentflow,
    /// General Bots' `config.csv`.
    ConfigCsv,
    /// A JSON object of deployment keys (SwiftClaw's blocks).
    DeploymentJson,
    /// AWS Application Auto Scaling (ECS): API JSON, CloudFormation or
    /// Terraform.
    Aws,
    /// Envoy: a cluster of a bootstrap or a bare cluster (YAML or JSON).
    Envoy,
    /// Traefik's dynamic configuration (YAML or TOML).
    Traefik,
}

impl Format {
    /// Every format, by the name `--format` takes.
    pub const ALL: &'static [(&'static str, Format)] = &[
        ("nginx", Format::Nginx),
        ("haproxy", Format::Haproxy),
        ("kubernetes", Format::Kubernetes),
        ("caddy", Format::Caddy),
        ("agentflow", Format::Agentflow),
        ("config-csv", Format::ConfigCsv),
        ("deployment-json", Format::DeploymentJson),
        ("aws", Format::Aws),
        ("envoy", Format::Envoy),
        ("traefik", Format::Traefik),
    ];

    /// The format named `name`.
    pub fn parse(name: &str) -> Option<Format> {
        Format::ALL
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|&(_, f)| f)
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Format::Nginx => "nginx",
            Format::Haproxy => "haproxy",
            Format::Kubernetes => "kubernetes",
            Format::Caddy => "caddy",
            Format::Agentflow => "agentflow",
            Format::ConfigCsv => "config-csv",
            Format::DeploymentJson => "deployment-json",
            Format::Aws => "aws",
            Format::Envoy => "envoy",
            Format::Traefik => "traefik",
        }
    }

    /// Whether `text` is AWS scaling: a template with its resource
    /// types, a policy or alarm, or the describe commands' output.
    fn is_aws(text: &str) -> bool {
        [
            "AWS::ApplicationAutoScaling::",
            "StepScalingPolicyConfiguration",
            "TargetTrackingScalingPolicyConfiguration",
            "\"StepAdjustments\"",
            "\"ScalingPolicies\"",
            "\"MetricAlarms\"",
            "\"ScalableTargets\"",
            "\"PolicyType\"",
            "\"ComparisonOperator\"",
            "\"MaxCapacity\"",
        ]
        .iter()
        .any(|k| text.contains(k))
    }

    /// The format of `path` from its name, else from its content.
    pub fn detect(path: &Path, text: &str) -> Option<Format> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        if name.ends_with(".tf") || aws::is_terraform(path, text) || Format::is_aws(text) {
            return Some(Format::Aws);
        }
        if name.contains("envoy") {
            return Some(Format::Envoy);
        }
        if name.contains("traefik") {
            return Some(Format::Traefik);
        }
        if name.ends_with(".toml") {
            if traefik_content(text) {
                return Some(Format::Traefik);
            }
            return Some(Format::Agentflow);
        }
        if name.ends_with(".csv") {
            return Some(Format::ConfigCsv);
        }
        if name.ends_with(".json") {
            if envoy_content(text) {
                return Some(Format::Envoy);
            }
            return Some(Format::DeploymentJson);
        }
        if name.starts_with("caddyfile") || name.ends_with(".caddyfile") || name.ends_with(".caddy")
        {
            return Some(Format::Caddy);
        }
        let yaml = name.ends_with(".yaml") || name.ends_with(".yml");
        if yaml && (text.contains("apiVersion:") || text.contains("kind:")) {
            return Some(Format::Kubernetes);
        }
        if envoy_content(text) {
            return Some(Format::Envoy);
        }
        if traefik_content(text) {
            return Some(Format::Traefik);
        }
        if name.contains("haproxy") || name.ends_with(".cfg") {
            return Some(Format::Haproxy);
        }
        if name.contains("nginx") || name.ends_with(".conf") && text.contains("upstream") {
            return Some(Format::Nginx);
        }
        let words = |w: &str| text.lines().any(|l| l.split_whitespace().next() == Some(w));
        if words("upstream") || words("proxy_pass") || words("limit_req_zone") {
            return Some(Format::Nginx);
        }
        if words("backend") || words("listen") && words("server") || words("defaults") {
            return Some(Format::Haproxy);
        }
        None
    }
}

/// Whether `text` reads as an Envoy cluster or bootstrap: a key
/// `static_resources`, `clusters`, `lb_policy` or `load_assignment`.
fn envoy_content(text: &str) -> bool {
    const KEYS: [&str; 4] = [
        "static_resources",
        "clusters",
        "lb_policy",
        "load_assignment",
    ];
    let json = KEYS
        .iter()
        .any(|k| text.contains(&format!("\"{k}\":")) || text.contains(&format!("\"{k}\" :")));
    json || text.lines().any(|l| {
        let t = l
            .trim_start()
            .trim_start_matches("- ")
            .trim_start_matches(['"', '{']);
        KEYS.iter().any(|k| {
            t.strip_prefix(k)
                .is_some_and(|rest| rest.trim_start_matches('"').trim_start().starts_with(':'))
        })
    })
}

/// Whether `text` reads as Traefik dynamic configuration: `http` with
/// `services` holding a `loadBalancer`, `weighted` or `failover`
/// service, in YAML or TOML.
fn traefik_content(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    let toml = lower.lines().any(|l| {
        l.trim_start()
            .trim_start_matches('[')
            .starts_with("http.services")
    });
    let yaml = lower.lines().any(|l| l.trim_end() == "http:")
        && lower.lines().any(|l| l.trim_start() == "services:")
        && ["loadbalancer:", "weighted:", "failover:"]
            .iter()
            .any(|k| lower.contains(k));
    toml || yaml
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a directive is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

/// What became of one directive.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Outcome {
    /// It set these scenario keys (JSON paths), with a note on how the
    /// simulation reads it when that is worth saying.
    Mapped {
        /// The keys it set.
        keys: Vec<String>,
        /// How it is read, when not obvious.
        #[serde(skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// It has no meaning for the simulation (TLS, headers, logging...).
    Ignored {
        /// Why.
        why: String,
    },
    /// It has simulation meaning fleetsim cannot express yet.
    Unsupported {
        /// What the simulation loses.
        lost: String,
    },
}

/// One line of the mapping report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mapping {
    /// Where the directive is.
    #[serde(flatten)]
    pub at: Location,
    /// The directive as written (name and arguments).
    pub directive: String,
    /// What became of it.
    #[serde(flatten)]
    pub outcome: Outcome,
}

impl Mapping {
    /// Whether it lost something with simulation meaning.
    pub fn is_unsupported(&self) -> bool {
        matches!(self.outcome, Outcome::Unsupported { .. })
    }
}

/// A native file read: the scenario fragment and the mapping report.
#[derive(Debug, Clone, Serialize)]
pub struct Import {
    /// The file.
    pub file: PathBuf,
    /// Its format.
    pub format: Format,
    /// What was read from it (the upstream, for nginx).
    pub source: String,
    /// `{"deployment": {...}}`.
    pub fragment: Value,
    /// Every directive, in file order.
    pub report: Vec<Mapping>,
}

impl Import {
    /// Directives with simulation meaning that were not supported.
    pub fn unsupported(&self) -> usize {
        self.report.iter().filter(|m| m.is_unsupported()).count()
    }

    /// The report as text, one directive a line.
    pub fn report_text(&self) -> String {
        let mut out = format!(
            "{} ({}, {}):\n",
            self.file.display(),
            self.format,
            self.source
        );
        for m in &self.report {
            let what = match &m.outcome {
                Outcome::Mapped { keys, note } => {
                    let mut s = format!("-> {}", keys.join(", "));
                    if let Some(n) = note {
                        s.push_str(&format!(" ({n})"));
                    }
                    s
                }
                Outcome::Ignored { why } => format!("ignored: {why}"),
                Outcome::Unsupported { lost } => format!("not supported yet: {lost}"),
            };
            out.push_str(&format!(
                "  {}:{}  {}  {what}\n",
                m.at.line, m.at.column, m.directive
            ));
        }
        let (mapped, ignored, lost) =
            self.report
                .iter()
                .fold((0, 0, 0), |(a, b, c), m| match m.outcome {
                    Outcome::Mapped { .. } => (a + 1, b, c),
                    Outcome::Ignored { .. } => (a, b + 1, c),
                    Outcome::Unsupported { .. } => (a, b, c + 1),
                });
        out.push_str(&format!(
            "{} directives: {mapped} mapped, {ignored} ignored (no simulation meaning), {lost} not supported yet\n",
            self.report.len()
        ));
        out
    }
}

/// What to read from a native file.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// The format, when its name and content do not tell.
    pub format: Option<Format>,
    /// The upstream (nginx) to read, when the file has several.
    pub upstream: Option<String>,
}

/// Sets the value at `path` in `m`, making the objects on the way.
pub(crate) fn set_path(m: &mut Map<String, Value>, path: &[&str], v: Value) {
    let mut m = m;
    for k in &path[..path.len() - 1] {
        m = m
            .entry(k.to_string())
            .or_insert_with(|| Value::Object(Map::new()))
            .as_object_mut()
            .expect("objects all the way down");
    }
    m.insert(path[path.len() - 1].to_string(), v);
}

/// A directive that set these `deployment` keys.
pub(crate) fn mapped(keys: &[&str], note: Option<String>) -> Outcome {
    Outcome::Mapped {
        keys: keys.iter().map(|k| format!("deployment.{k}")).collect(),
        note,
    }
}

/// A problem at a place in a native file.
pub(crate) fn native_error(
    file: &Path,
    format: Format,
    at: &Location,
    message: impl Into<String>,
) -> ScenarioError {
    ScenarioError::Native {
        file: file.to_path_buf(),
        line: at.line,
        column: at.column,
        format: format.name(),
        reason: message.into(),
    }
}

/// Reads the native file at `path`.
pub fn import_file(path: &Path, opts: &ImportOptions) -> Result<Import, ScenarioError> {
    import_str(&read_native(path)?, path, opts)
}

/// One file of several to import, with how to read it.
#[derive(Debug, Clone)]
pub struct ImportSpec {
    /// The file.
    pub path: PathBuf,
    /// How to read it.
    pub opts: ImportOptions,
}

/// Reads several native files as one deployment: AWS files are read
/// together (an alarm in one file may invoke a policy in another); the
/// others one by one. Returns each file's import (its report; the AWS
/// files' joint fragment is on the first of them) and their fragments
/// merged in order. Two files that set one key to different values are an
/// error naming both.
pub fn import_all(specs: &[ImportSpec]) -> Result<(Vec<Import>, Value), ScenarioError> {
    let mut texts = Vec::with_capacity(specs.len());
    for (i, s) in specs.iter().enumerate() {
        if specs[..i].iter().any(|e| e.path == s.path) {
            return Err(ScenarioError::NativeFile {
                file: s.path.clone(),
                reason: "given twice; name each file once".into(),
            });
        }
        texts.push(read_native(&s.path)?);
    }
    let is_aws = |i: usize| {
        specs[i]
            .opts
            .format
            .or_else(|| Format::detect(&specs[i].path, &texts[i]))
            == Some(Format::Aws)
    };
    let aws: Vec<usize> = (0..specs.len()).filter(|&i| is_aws(i)).collect();
    let mut imports: Vec<Option<Import>> = vec![None; specs.len()];
    if aws.len() > 1 {
        let files: Vec<(&str, &Path)> = aws
            .iter()
            .map(|&i| (texts[i].as_str(), specs[i].path.as_path()))
            .collect();
        let wanted = aws.iter().find_map(|&i| specs[i].opts.upstream.as_deref());
        for (k, got) in aws::import_many(&files, wanted)?.into_iter().enumerate() {
            imports[aws[k]] = Some(got);
        }
    }
    let mut merged = Value::Object(Map::new());
    let mut owner: Vec<(String, PathBuf)> = Vec::new();
    let mut out = Vec::with_capacity(specs.len());
    for (i, s) in specs.iter().enumerate() {
        let got = match imports[i].take() {
            Some(g) => g,
            None => import_str(&texts[i], &s.path, &s.opts)?,
        };
        merge_fragment(
            &mut merged,
            &got.fragment,
            String::new(),
            &s.path,
            &mut owner,
        )?;
        out.push(got);
    }
    Ok((out, merged))
}

/// Merges `add` (from `file`) into `into`; a leaf set by an earlier file
/// to another value is an error naming both files.
fn merge_fragment(
    into: &mut Value,
    add: &Value,
    at: String,
    file: &Path,
    owner: &mut Vec<(String, PathBuf)>,
) -> Result<(), ScenarioError> {
    match (into, add) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                let here = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                match a.get_mut(k) {
                    Some(slot) => merge_fragment(slot, v, here, file, owner)?,
                    None => {
                        a.insert(k.clone(), v.clone());
                        owner.push((here, file.to_path_buf()));
                    }
                }
            }
            Ok(())
        }
        (slot, v) if *slot == *v => Ok(()),
        (slot, v) => {
            let first = owner
                .iter()
                .rev()
                .find(|(k, _)| at == *k || at.starts_with(&format!("{k}.")))
                .map_or_else(
                    || "an earlier file".to_string(),
                    |(_, f)| f.display().to_string(),
                );
            Err(ScenarioError::NativeFile {
                file: file.to_path_buf(),
                reason: format!(
                    "sets `{at}` to {v}, but {first} sets it to {slot}; a key may come from one of the files only"
                ),
            })
        }
    }
}

/// The text of a native file, read with a bound on its size.
fn read_native(path: &Path) -> Result<String, ScenarioError> {
    let io = |e: std::io::Error| ScenarioError::NativeFile {
        file: path.to_path_buf(),
        reason: format!("cannot read it: {e}"),
    };
    let len = std::fs::metadata(path).map_err(io)?.len();
    if len > MAX_NATIVE_BYTES {
        return Err(ScenarioError::NativeFile {
            file: path.to_path_buf(),
            reason: format!(
                "{len} bytes; a config file fleetsim reads may be at most {MAX_NATIVE_BYTES} bytes"
            ),
        });
    }
    // Read at most one byte past the cap: a device or a pipe reports no
    // length, and must not be read without end.
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(std::fs::File::open(path).map_err(io)?, MAX_NATIVE_BYTES + 1),
        &mut bytes,
    )
    .map_err(io)?;
    if bytes.len() as u64 > MAX_NATIVE_BYTES {
        return Err(ScenarioError::NativeFile {
            file: path.to_path_buf(),
            reason: format!("larger than {MAX_NATIVE_BYTES} bytes; a config file fleetsim reads is smaller (is this a device or a pipe?)"),
        });
    }
    String::from_utf8(bytes).map_err(|e| ScenarioError::NativeFile {
        file: path.to_path_buf(),
        reason: format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
    })
}

/// Reads native config `text`; `path` names it in errors and the report.
pub fn import_str(text: &str, path: &Path, opts: &ImportOptions) -> Result<Import, ScenarioError> {
    let format = match opts.format.or_else(|| Format::detect(path, text)) {
        Some(f) => f,
        None => {
            let names: Vec<&str> = Format::ALL.iter().map(|(n, _)| *n).collect();
            return Err(ScenarioError::NativeFile {
                file: path.to_path_buf(),
                reason: format!(
                    "cannot tell the format from the name or the content; give --format ({})",
                    names.join(", ")
                ),
            });
        }
    };
    match format {
        Format::Nginx => nginx::import(text, path, opts.upstream.as_deref()),
        Format::Haproxy => haproxy::import(text, path, opts.upstream.as_deref()),
        Format::Kubernetes => kubernetes::import(text, path, opts.upstream.as_deref()),
        Format::Caddy => caddy::import(text, path, opts.upstream.as_deref()),
        Format::Agentflow => seeds::agentflow(text, path),
        Format::ConfigCsv => seeds::config_csv(text, path),
        Format::DeploymentJson => seeds::deployment_json(text, path),
        Format::Aws => aws::import(text, path, opts.upstream.as_deref()),
        Format::Envoy => envoy::import(text, path, opts.upstream.as_deref()),
        Format::Traefik => traefik::import(text, path, opts.upstream.as_deref()),
    }
}

#[cfg(test)]
mod tests {
    use super::Format;

    #[test]
    fn every_format_is_listed_by_its_name() {
        for &(name, f) in Format::ALL {
            assert_eq!(f.name(), name);
            assert_eq!(Format::parse(name), Some(f));
        }
        // A new format must be listed: this match stops compiling.
        let listed = |f: Format| Format::ALL.iter().any(|&(_, g)| g == f);
        for f in [
            Format::Nginx,
            Format::Haproxy,
            Format::Kubernetes,
            Format::Caddy,
            Format::Agentflow,
            Format::ConfigCsv,
            Format::DeploymentJson,
            Format::Aws,
            Format::Envoy,
            Format::Traefik,
        ] {
            match f {
                Format::Nginx
                | Format::Haproxy
                | Format::Kubernetes
                | Format::Caddy
                | Format::Agentflow
                | Format::ConfigCsv
                | Format::DeploymentJson
                | Format::Aws
                | Format::Envoy
                | Format::Traefik => assert!(listed(f), "{f}"),
            }
        }
    }
}
