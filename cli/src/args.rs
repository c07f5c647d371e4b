//! Command-line arguments, as clap sees them.

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use std::path::PathBuf;
use std::sync::OnceLock;

/// What `--version` says after the name, as cargo says it: the package
/// version, the commit and the commit's date (`0.1.0 (f6ed27b
/// 2026-12-07)`; `-dirty` after the commit when tracked files had changes,
/// `no git` when built outside a checkout).
pub(crate) fn version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| format!("{} ({})", env!("CARGO_PKG_VERSION"), sim_core::COMMIT))
}

/// The command line as clap sees it, with its version: what is parsed,
/// and what completions and man pages describe.
pub(crate) fn command() -> clap::Command {
    Cli::command().version(version())
}

/// The arguments of this process (on a usage error, clap prints it and
/// exits 2).
pub(crate) fn parse() -> Cli {
    let matches = command().get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

const RUN_EXAMPLES: &str = "\
Examples:
  fleetsim run                                # the built-in quickstart
  fleetsim run scenarios/quickstart.json      # a scenario file
  fleetsim run scenarios/off-peak.json --seed 7 --replications 10
  fleetsim run scenarios/off-peak.json --json > result.json
  fleetsim run scenarios/off-peak.json --out results/
  fleetsim run scenarios/quickstart.json --fail-on-slo

--json prints the whole result; --out also writes result.json,
timeseries.csv and scaling.csv; --fail-on-slo exits 1 when the SLO is
missed (for CI).";

const VALIDATE_EXAMPLES: &str = "\
Examples:
  fleetsim validate scenarios/quickstart.json
  fleetsim validate scenarios/*.json
  fleetsim validate scenarios/sweeps/strategies-by-size.json \\
      scenarios/gate/gate.json
  fleetsim validate - < scenarios/quickstart.json     # `-`: standard input

Each file is recognised by its keys: a sweep file (`axes`), a gate file
(`scenarios`, a list of files), a gate baseline, or else a scenario; it is
checked as the command that reads it would check it (a sweep's every
point, a gate's every scenario). JSON Schemas (*.schema.json) are skipped.";

const COMPLETIONS_EXAMPLES: &str = "\
Examples:
  fleetsim completions bash > fleetsim.bash
  fleetsim completions zsh > _fleetsim

Where each shell looks: bash, ~/.local/share/bash-completion/completions/
(as `fleetsim`); zsh, a directory on $fpath (as `_fleetsim`); fish,
~/.config/fish/completions/ (as `fleetsim.fish`); PowerShell, a line in
$PROFILE; elvish, ~/.config/elvish/lib/.";

const MAN_EXAMPLES: &str = "\
Examples:
  fleetsim man > fleetsim.1          # the top page: man -l fleetsim.1
  fleetsim man --out-dir man/man1    # fleetsim.1 and a page per subcommand

Put the pages in a man1 directory on MANPATH (~/.local/share/man/man1).";

/// Simulate fleets of LLM-agent service instances before production:
/// balancers, limits and timeouts against a modelled workload, with
/// latency, errors, load spread and cost you can trust.
#[derive(Debug, Parser)]
#[command(name = "fleetsim", propagate_version = true)]
#[command(
    after_help = "Exit codes: 0 ok; 1 a check failed (run --fail-on-slo missed the SLO, \
gate found a regression, plan found no configuration that meets the SLO within \
budget, import --strict met an unsupported directive); 2 bad input or usage; \
3 results could not be written (or an internal error); 130 interrupted.\n\
Run `fleetsim <command> --help` for a command's options and examples; \
`fleetsim completions SHELL` and `fleetsim man` install shell completion and \
man pages. A scenario file given as `-` is read from standard input."
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run a scenario and print a summary of what the fleet did.
    #[command(after_help = RUN_EXAMPLES)]
    Run(RunArgs),
    /// Check scenario, sweep and gate files and print what each one
    /// resolves to.
    #[command(after_help = VALIDATE_EXAMPLES)]
    Validate(ValidateArgs),
    /// Run a scenario over a grid of parameter values and seeds, in
    /// parallel, into a results directory.
    #[command(after_help = SWEEP_EXAMPLES)]
    Sweep(SweepArgs),
    /// Compare strategies (or whole deployments) on the same seeds and
    /// print the decision matrix.
    #[command(after_help = COMPARE_EXAMPLES)]
    Compare(CompareArgs),
    /// Draw a sweep's charts and write its self-contained HTML report.
    #[command(after_help = REPORT_EXAMPLES)]
    Report(ReportArgs),
    /// Join the shares of a sharded sweep into one result.
    #[command(after_help = MERGE_EXAMPLES)]
    Merge(MergeArgs),
    /// Fail CI on latency, error, fairness, cost and SLO regressions
    /// against a committed baseline (exit 1), and not on noise.
    #[command(after_help = GATE_EXAMPLES)]
    Gate(GateArgs),
    /// Find the cheapest configuration that meets the SLO within the
    /// budget, or (--max-load) the highest rate a configuration sustains.
    #[command(after_help = PLAN_EXAMPLES)]
    Plan(PlanArgs),
    /// Read a config you already run (nginx, HAProxy, Caddy, Envoy,
    /// Traefik, Kubernetes, AWS) into a scenario fragment, and say what
    /// became of every directive.
    #[command(after_help = IMPORT_EXAMPLES)]
    Import(ImportArgs),
    /// Serve real HTTP on 127.0.0.1 through a scenario's deployment
    /// (balancer, health checks, ejection, breakers, limits, retries, rate
    /// limit) in front of real backends, until a bound or Ctrl-C.
    #[command(after_help = PROXY_EXAMPLES)]
    Proxy(ProxyArgs),
    /// Fit distributions (lognormal, gamma, Weibull, exponential) to a CSV
    /// column of measured latencies or token counts, rank them by KS
    /// distance, and print the scenario block to paste.
    #[command(after_help = FIT_EXAMPLES)]
    Fit(FitArgs),
    /// Measure a real proxy on loopback (synthetic backends, an open-loop
    /// load) and compare it with the simulation of the same scenario.
    #[command(after_help = CALIBRATE_EXAMPLES)]
    Calibrate(CalibrateArgs),
    /// Print the JSON Schema of scenario, sweep or gate files, for editors.
    #[command(after_help = SCHEMA_EXAMPLES)]
    Schema(SchemaArgs),
    /// Print a shell completion script: bash, zsh, fish, powershell or
    /// elvish.
    #[command(after_help = COMPLETIONS_EXAMPLES)]
    Completions(CompletionsArgs),
    /// Print the man page, or write one page per subcommand into a
    /// directory.
    #[command(after_help = MAN_EXAMPLES)]
    Man(ManArgs),
}

const PROXY_EXAMPLES: &str = "\
Examples:
  # one --backend per instance of the scenario, in its order; here it stops
  # at once (--max-requests 0), as a check of the flags and the scenario
  fleetsim proxy scenarios/proxy/three-backends.json --listen 127.0.0.1:0 \\
      --backend 127.0.0.1:9001 --backend 127.0.0.1:9002 \\
      --backend 127.0.0.1:9003 --max-requests 0
  # serve for one second on a free port, then print the summary
  fleetsim proxy scenarios/proxy/three-backends.json --listen 127.0.0.1:0 \\
      --backend 127.0.0.1:9001 --backend 127.0.0.1:9002 \\
      --backend 127.0.0.1:9003 --duration 1s

It prints `listening on 127.0.0.1:PORT` on stderr once it accepts
connections, and a one-line summary on stdout when it stops: requests by
backend (by --backend index) and errors by reason. Responses carry the
backend's headers and `x-fleetsim-backend: INDEX`; the proxy's own answers
are 502 (no eligible backend, or every attempt failed), 429 with
retry-after (rate limited), 503 (limits.maxConnections) and 504
(limits.requestTimeout). Settings it cannot apply (workload, llm,
scaling, network, ...) are named on stderr at the start. The header
x-fleetsim-key is the request's key for hashing and affinity.";

/// `fleetsim proxy`.
#[derive(Debug, Args)]
pub(crate) struct ProxyArgs {
    /// The scenario whose `deployment` the proxy applies.
    #[arg(value_name = "SCENARIO")]
    pub(crate) scenario: PathBuf,
    /// Where to listen: 127.0.0.1:PORT (port 0 picks a free one).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub(crate) listen: String,
    /// A backend's address, 127.0.0.1:PORT: one for each instance the
    /// scenario runs from the start, in the scenario's order (region by
    /// region, as `validate` lists them).
    #[arg(long = "backend", value_name = "ADDR")]
    pub(crate) backends: Vec<String>,
    /// Stop after this long (up to 24h).
    #[arg(long, value_name = "DURATION", default_value = "10m")]
    pub(crate) duration: String,
    /// Stop once this many requests have been answered.
    #[arg(long, value_name = "N")]
    pub(crate) max_requests: Option<u64>,
    /// The path active health checks GET on each backend (a 2xx passes).
    #[arg(long, value_name = "PATH", default_value = "/health")]
    pub(crate) health_path: String,
}

/// `fleetsim schema`.
#[derive(Debug, Args)]
pub(crate) struct SchemaArgs {
    /// Which files' schema.
    #[arg(value_enum, default_value = "scenario")]
    pub(crate) kind: SchemaKind,
}

/// The files fleetsim has a JSON Schema for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum SchemaKind {
    /// Scenario files (scenarios/fleetsim.schema.json).
    Scenario,
    /// Sweep files (scenarios/sweep.schema.json).
    Sweep,
    /// Gate files (scenarios/gate.schema.json).
    Gate,
}

/// `fleetsim completions`.
#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub(crate) shell: clap_complete::Shell,
}

/// `fleetsim man`.
#[derive(Debug, Args)]
pub(crate) struct ManArgs {
    /// Write fleetsim.1 and one page per subcommand (fleetsim-run.1, ...)
    /// into this directory (created if missing) instead of printing the
    /// top page.
    #[arg(long, value_name = "DIR")]
    pub(crate) out_dir: Option<PathBuf>,
}

const IMPORT_EXAMPLES: &str = "\
Examples:
  # the fragment (JSON) on stdout, the mapping report on stderr
  fleetsim import scenarios/native/nginx/llm-upstream.conf
  # one upstream of several; --out writes the fragment (YAML for .yaml)
  fleetsim import scenarios/native/nginx/llm-upstream.conf \\
      --upstream llm_agents --out deployment.yaml
  # --strict exits 1 if anything with simulation meaning is not supported:
  # here a backup server (exits 1)
  fleetsim import scenarios/native/nginx/llm-upstream.conf --strict
  # the report as JSON, with the fragment
  fleetsim import scenarios/native/haproxy/llm.cfg --json
  fleetsim import scenarios/native/caddy/Caddyfile
  fleetsim import scenarios/native/kubernetes/llm-agents.yaml
  fleetsim import scenarios/native/aws/ecs-step-scaling.tf

The fragment is a scenario's `deployment` as the software would run it,
its defaults included. A scenario takes it by reference, so the next run
reads the file as it is then:
  \"deployment\": { \"import\": \"nginx.conf\" }
  \"deployment\": { \"import\": { \"file\": \"nginx.conf\", \"upstream\": \"llm_agents\" } }
  \"deployment\": { \"import\": [\"policy.json\", \"alarm.json\"] }
The scenario's own deployment keys override the imported ones. AWS files
are read together (an alarm may invoke a policy in another file); other
files that set one key differently are refused.

Formats: nginx (upstream, servers and their parameters, least_conn,
ip_hash, hash, random, proxy_next_upstream, proxy_read_timeout,
limit_req, limit_conn; the check and sticky modules); haproxy (a backend
or listen section with its defaults: balance, server and default-server
options, retries, retry-on, option redispatch, timeouts); caddy (a
reverse_proxy: upstreams, lb_policy, lb_retries and lb_try_duration,
active and passive health); kubernetes (a
Deployment's replicas, limits, readiness probe and grace period, its
HorizontalPodAutoscaler v2 or v1, a KEDA ScaledObject); aws (ECS scaling
as CloudFormation, Terraform or the API's JSON: scalable target, step
scaling policies with the CloudWatch alarms that invoke them, target
tracking, the service's DesiredCount); and the seed docs'
own files: agentflow (agentflow.toml), config-csv (General Bots'
config.csv), deployment-json (SwiftClaw's deployment blocks).";

/// `fleetsim import`.
#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// The native config files: one, or several read as one deployment
    /// (AWS files together, so an alarm may invoke a policy in another).
    #[arg(value_name = "FILE", required = true, num_args = 1..)]
    pub(crate) files: Vec<PathBuf>,
    /// Its format, when the name and content do not tell: nginx, haproxy,
    /// kubernetes, caddy, agentflow, config-csv, deployment-json, envoy,
    /// traefik, aws.
    #[arg(long, value_name = "FORMAT")]
    pub(crate) format: Option<String>,
    /// The nginx upstream, HAProxy backend, Caddy route (site or matcher),
    /// Kubernetes Deployment, Envoy cluster or Traefik service to read when
    /// the file has several; for AWS, the policy kind (step or
    /// target-tracking).
    #[arg(long, value_name = "NAME")]
    pub(crate) upstream: Option<String>,
    /// Write the fragment to this file (YAML when it ends in .yaml or
    /// .yml, else JSON) and print only the report.
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
    /// Exit 1 when a directive with simulation meaning is not supported.
    #[arg(long)]
    pub(crate) strict: bool,
    /// Print the fragment and the report as one JSON document.
    #[arg(long, conflicts_with = "out")]
    pub(crate) json: bool,
}

const FIT_EXAMPLES: &str = "\
Examples:
  # latencies in milliseconds: every family, ranked, and the block to paste
  fleetsim fit scenarios/data/latencies.csv --column latency_ms --unit ms
  # token counts, as JSON, with a Q-Q chart
  fleetsim fit scenarios/data/latencies.csv --column output_tokens \\
      --as tokens --json --chart qq.svg
  # one family; the empirical quantiles only
  fleetsim fit scenarios/data/latencies.csv --column latency_ms --unit ms \\
      --dist gamma
  fleetsim fit scenarios/data/latencies.csv --column latency_ms --unit ms \\
      --dist empirical

The block is a distribution in the scenario's grammar: paste it where a
duration is drawn (llm.models.NAME.latency, workload.request.cpuTime,
deployment.proxyLatency) or, with --as tokens, as inputTokens or
outputTokens. Bad input (a missing column, a cell that is not a number, a
value at or below 0, fewer than 10 values) exits 2 naming the line and
column.
";

/// `fleetsim fit`.
#[derive(Debug, Args)]
pub(crate) struct FitArgs {
    /// The CSV file: a header row, then one measurement per row.
    #[arg(value_name = "FILE.csv")]
    pub(crate) file: PathBuf,
    /// The column to fit (needed when the file has more than one).
    #[arg(long, value_name = "NAME")]
    pub(crate) column: Option<String>,
    /// The unit of latencies in the file: s, ms or us. Without it, the
    /// column's name must say it (`latency_ms`, `rtt_us`, `time_s`,
    /// `time_seconds`); a name that says another unit is refused.
    #[arg(long, value_name = "UNIT")]
    pub(crate) unit: Option<String>,
    /// Which family to fit.
    #[arg(long, value_enum, default_value = "all")]
    pub(crate) dist: FitDist,
    /// What the values are: latencies (durations) or token counts.
    #[arg(long = "as", value_enum, default_value = "latency")]
    pub(crate) r#as: FitAs,
    /// Print the fits as JSON (reports/contracts/fit.schema.json).
    #[arg(long)]
    pub(crate) json: bool,
    /// Write a Q-Q chart of the data against each fit: SVG, or PNG when
    /// the name ends in .png.
    #[arg(long, value_name = "FILE")]
    pub(crate) chart: Option<PathBuf>,
}

/// `fit --dist`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum FitDist {
    /// Every family, ranked.
    All,
    /// Lognormal (maximum likelihood).
    Lognormal,
    /// Gamma (maximum likelihood).
    Gamma,
    /// Weibull (maximum likelihood).
    Weibull,
    /// Exponential (maximum likelihood).
    Exponential,
    /// No family: the empirical quantile table only.
    Empirical,
}

/// `fit --as`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum FitAs {
    /// Durations: the block's parameters are duration strings.
    Latency,
    /// Token counts: the block's parameters are plain numbers.
    Tokens,
}

const GATE_EXAMPLES: &str = "\
Examples:
  # write the baseline (then commit it), then compare with it
  fleetsim gate scenarios/gate/gate.json --update-baseline --seeds 2
  fleetsim gate scenarios/gate/gate.json --seeds 2 \\
      --junit gate.xml --markdown gate.md

SUITE is a gate file (scenarios, seeds, thresholds, baseline) or a
directory of scenarios (default thresholds; baseline
DIR/fleetsim-baseline.json). Each metric is compared seed by seed; a
regression is a 95% interval wholly past its threshold. Exit 0: no
regression; 1: a regression; 2: bad input or no baseline.";

const PLAN_EXAMPLES: &str = "\
Examples:
  fleetsim plan scenarios/quickstart.json --seeds 3 \\
      --axis deployment.regions.us-east-1.instances=1..12
  fleetsim plan scenarios/quickstart.json --seeds 3 --budget-per-hour 5 \\
      --axis deployment.regions.us-east-1.instances=1..6 \\
      --axis deployment.loadBalancing.strategy=round-robin,least-connections
  fleetsim plan scenarios/quickstart.json --seeds 3 --slo p99=20s \\
      --axis deployment.regions.us-east-1.instances=2..10 --out plan/
  fleetsim plan scenarios/off-peak.json --seeds 3 --max-load

The SLO is the scenario's `slo` (or --slo); the budget its
deployment.budget.perHour (or --budget-per-hour). A point meets the SLO
when the upper end of each objective's 95% interval across seeds is under
its target and every seed reached steady state. With one instance-count
axis the search bisects it from an Erlang C estimate. Exit 0 with a
recommendation, 1 when nothing in the space meets the SLO within budget.";

const SCHEMA_EXAMPLES: &str = "\
Examples:
  fleetsim schema > fleetsim.schema.json
  fleetsim schema sweep > sweep.schema.json
  fleetsim schema gate > gate.schema.json

Shipped as scenarios/fleetsim.schema.json, scenarios/sweep.schema.json and
scenarios/gate.schema.json; a file names its schema with
\"$schema\": \"../fleetsim.schema.json\" (relative to the file) so editors
complete keys and flag mistakes as you type. The schema checks shapes and
names; `fleetsim validate` also checks the rules between fields.";

const SWEEP_EXAMPLES: &str = "\
Examples:
  fleetsim sweep scenarios/sweeps/slurm-check.json
  fleetsim sweep scenarios/off-peak.json --seeds 5 \\
      --axis deployment.loadBalancing.strategy=round-robin,least-connections
  fleetsim sweep scenarios/off-peak.json --seeds 2 --out sizes/ \\
      --axis deployment.regions.us-east-1.instances=1..4
  fleetsim sweep scenarios/off-peak.json --axis run.duration=5m,10m \\
      --axis workload.arrivals.ratePerSecond=1..3/0.5
  # one share of eight; join the shares with `fleetsim merge`
  fleetsim sweep scenarios/sweeps/slurm-check.json --shard 3/8 --out part3/
  # after Ctrl-C, finish the sweep in slurm/ without redoing its runs
  fleetsim sweep scenarios/sweeps/slurm-check.json --out slurm/
  fleetsim sweep scenarios/sweeps/slurm-check.json --out slurm/ --resume

An axis is PATH=VALUES: a list (a,b,c; JSON values allowed), an integer
range (2..12, both ends included) or a stepped range (1..3/0.5). Keys with
dots are quoted, and the shell needs the quotes kept:
  --axis 'llm.models[\"gpt-4.1\"].latency.median=1s,2s'
";

const COMPARE_EXAMPLES: &str = "\
Examples:
  fleetsim compare scenarios/quickstart.json \\
      --strategies round-robin,least-connections,power-of-two
  fleetsim compare --seeds 3 --variants scenarios/quickstart.json \\
      scenarios/variants/quickstart-lean.json
  fleetsim compare scenarios/off-peak.json --format markdown \\
      --strategies round-robin,peak-ewma --weights p99=3,cost=2
  fleetsim compare --strategies round-robin,least-connections \\
      --scenarios scenarios/quickstart.json scenarios/off-peak.json

Criteria (and --weights keys): p50, p99, errors, throughput, cost (per
hour), cost1k (per 1,000 requests), balance (Jain's index of per-instance
utilization, each instance against its own capacity), fairness (equal
request counts per instance: weight 0 unless given, as an equal split is
the wrong goal when instances differ in speed or size), tenants (fairness
per tenant, with tenants), slo (share of seeds meeting the SLO). Every
other criterion weighs 1 unless --weights says otherwise; 0 leaves one out.

Scores: each criterion's weight times the option's mean log-ratio against
the baseline (--baseline, default the first option), summed: the baseline
scores 0 and +0.10 is about 10% better on one criterion of weight 1. Two
options' order depends on their own figures only, so adding or removing
another option never changes which of them ranks first. Options whose
scores differ by less than --margin (default 0.03, about 3%) are
equivalent and the verdict calls a tie; criteria identical on every seed
for every option are left out and said so.";

const REPORT_EXAMPLES: &str = "\
Examples:
  fleetsim sweep scenarios/sweeps/slurm-check.json --out checked/
  fleetsim report checked/      # writes checked/report.html and charts/";

const MERGE_EXAMPLES: &str = "\
Examples:
  fleetsim sweep scenarios/sweeps/slurm-check.json --shard 1/2 --out p1/
  fleetsim sweep scenarios/sweeps/slurm-check.json --shard 2/2 --out p2/
  fleetsim merge p1/ p2/ --out whole/";

#[derive(Debug, Args)]
pub(crate) struct SweepArgs {
    /// A sweep file (JSON), or with --axis a scenario file.
    pub(crate) sweep: PathBuf,
    /// PATH=VALUES: an axis over the scenario (repeat for more axes).
    #[arg(long, value_name = "PATH=VALUES")]
    pub(crate) axis: Vec<String>,
    /// Axes that advance together instead of crossing: PATH,PATH (repeat
    /// for more groups).
    #[arg(long, value_name = "PATH,PATH")]
    pub(crate) zip: Vec<String>,
    #[command(flatten)]
    pub(crate) exec: ExecArgs,
}

/// How runs execute and where they go: shared by sweep and compare.
#[derive(Debug, Clone, Args)]
pub(crate) struct ExecArgs {
    /// Seeds per point (default: the scenario's run.replications).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub(crate) seeds: Option<u32>,
    /// Master seed, replacing the scenario's run.seed.
    #[arg(long, value_name = "N")]
    pub(crate) seed: Option<u64>,
    /// Runs at once (default: every core). Results do not depend on it.
    #[arg(long, short, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub(crate) jobs: Option<u64>,
    /// Output directory (default: a new directory named after the sweep).
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
    /// Finish an interrupted sweep in --out without redoing its runs.
    #[arg(long)]
    pub(crate) resume: bool,
    /// Run only share K of N of the runs (join shares with `fleetsim merge`).
    #[arg(long, value_name = "K/N", conflicts_with = "shard_from_env")]
    pub(crate) shard: Option<String>,
    /// Take the share from a Slurm job array (SLURM_ARRAY_TASK_ID,
    /// SLURM_ARRAY_TASK_COUNT) or a Kubernetes Indexed Job
    /// (JOB_COMPLETION_INDEX, FLEETSIM_SHARDS).
    #[arg(long)]
    pub(crate) shard_from_env: bool,
    /// No progress bar or progress lines.
    #[arg(long, short)]
    pub(crate) quiet: bool,
    /// Start even when the estimate is above the size fleetsim asks about
    /// (see `confirm` in the README).
    #[arg(long, short = 'y')]
    pub(crate) yes: bool,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct CompareArgs {
    /// The scenario whose options are compared (with --strategies).
    pub(crate) scenario: Option<PathBuf>,
    /// Balancing strategies to compare, comma-separated.
    #[arg(
        long,
        value_name = "A,B,...",
        value_delimiter = ',',
        conflicts_with = "variants"
    )]
    pub(crate) strategies: Vec<String>,
    /// Whole alternative scenario files to compare.
    #[arg(long, value_name = "FILE", num_args = 2..)]
    pub(crate) variants: Vec<PathBuf>,
    /// Compare the --strategies under each of these scenarios and rank
    /// them robustly (worst case, maximum regret), instead of under SCENARIO.
    #[arg(long, value_name = "FILE", num_args = 2.., conflicts_with_all = ["variants", "scenario"])]
    pub(crate) scenarios: Vec<PathBuf>,
    /// Criterion weights, e.g. p99=3,cost=2 (others weigh 1, fairness 0).
    #[arg(long, value_name = "K=W,...")]
    pub(crate) weights: Option<String>,
    /// Score difference below which options are equivalent (0.03 is
    /// about 3% on one criterion of weight 1).
    #[arg(long, value_name = "D", allow_negative_numbers = true)]
    pub(crate) margin: Option<f64>,
    /// The option scores are relative to (a strategy, or a variant's file
    /// name without .json); default the first option.
    #[arg(long, value_name = "OPTION")]
    pub(crate) baseline: Option<String>,
    /// How to print the matrix: table, markdown, csv or json.
    #[arg(long, value_name = "FORMAT", default_value = "table")]
    pub(crate) format: MatrixFormat,
    #[command(flatten)]
    pub(crate) exec: ExecArgs,
}

/// Forms of the decision matrix on standard output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum MatrixFormat {
    /// Aligned columns for a terminal.
    Table,
    /// A Markdown table and verdict, for a pull request or a design doc.
    Markdown,
    /// CSV, one row per option.
    Csv,
    /// JSON.
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// A finished sweep's directory (from sweep, compare or merge).
    pub(crate) dir: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct GateArgs {
    /// A gate file (JSON) or a directory of scenarios.
    pub(crate) suite: PathBuf,
    /// The baseline file (default: the gate file's `baseline`, else
    /// STEM.baseline.json beside a gate file STEM.json; for a directory,
    /// fleetsim-baseline.json in it).
    #[arg(long, value_name = "FILE")]
    pub(crate) baseline: Option<PathBuf>,
    /// Run the suite and write the baseline instead of comparing.
    #[arg(long)]
    pub(crate) update_baseline: bool,
    /// Seeds per scenario, replacing the suite's (at least 2).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(2..=10_000))]
    pub(crate) seeds: Option<u32>,
    /// Master seed for every scenario, replacing each one's run.seed
    /// (to measure how often noise alone would fail the gate).
    #[arg(long, value_name = "N")]
    pub(crate) seed: Option<u64>,
    /// Runs at once (default: every core). Results do not depend on it.
    #[arg(long, short, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub(crate) jobs: Option<u64>,
    /// Also write the summary as Markdown (for a pull-request comment).
    #[arg(long, value_name = "FILE")]
    pub(crate) markdown: Option<PathBuf>,
    /// Also write JUnit XML (one test case per scenario and metric).
    #[arg(long, value_name = "FILE")]
    pub(crate) junit: Option<PathBuf>,
    /// Print the report as JSON instead of the table.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct PlanArgs {
    /// The scenario to plan for.
    pub(crate) scenario: PathBuf,
    /// PATH=VALUES: a dimension of the space to search (repeat).
    #[arg(long, value_name = "PATH=VALUES")]
    pub(crate) axis: Vec<String>,
    /// An objective, replacing or adding to the scenario's SLO: p50=2s,
    /// p99=8s, p99.9=20s, errorRate=0.01 (repeat).
    #[arg(long, value_name = "KEY=VALUE")]
    pub(crate) slo: Vec<String>,
    /// Most the fleet's instances may cost per hour, LLM spend aside, as
    /// deployment.budget.perHour caps it (default: that key's value).
    #[arg(long, value_name = "AMOUNT")]
    pub(crate) budget_per_hour: Option<f64>,
    /// The highest arrival rate the configuration sustains under the SLO,
    /// instead of a search over axes.
    #[arg(long, conflicts_with = "budget_per_hour")]
    pub(crate) max_load: bool,
    /// Seeds per point (at least 2; default 10).
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u32).range(2..=1_000))]
    pub(crate) seeds: u32,
    /// Master seed, replacing the scenario's run.seed.
    #[arg(long, value_name = "N")]
    pub(crate) seed: Option<u64>,
    /// Runs at once (default: every core). Results do not depend on it.
    #[arg(long, short, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub(crate) jobs: Option<u64>,
    /// Also write plan.json, plan.md, the chart and report.html here.
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
    /// Print the plan as JSON.
    #[arg(long)]
    pub(crate) json: bool,
    /// Start even when the search's largest possible size is above the
    /// size fleetsim asks about.
    #[arg(long, short = 'y')]
    pub(crate) yes: bool,
}

#[derive(Debug, Args)]
pub(crate) struct MergeArgs {
    /// The shares' directories.
    #[arg(required = true, num_args = 1.., value_name = "SHARE_DIR")]
    pub(crate) shares: Vec<PathBuf>,
    /// Where the whole sweep goes (a new directory).
    #[arg(long, value_name = "DIR")]
    pub(crate) out: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Scenario file (JSON or YAML; `-` reads standard input). Without
    /// one, the built-in quickstart runs.
    pub(crate) scenario: Option<PathBuf>,
    /// Master seed, replacing the scenario's `run.seed`.
    #[arg(long, value_name = "N")]
    pub(crate) seed: Option<u64>,
    /// Independent replications, replacing `run.replications`.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub(crate) replications: Option<u32>,
    /// Print the whole result as JSON on stdout instead of the summary.
    #[arg(long)]
    pub(crate) json: bool,
    /// Also write `result.json`, `timeseries.csv` and `scaling.csv` into
    /// this directory (created if missing).
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
    /// Exit with code 1 when the pooled result misses the scenario's SLO.
    #[arg(long)]
    pub(crate) fail_on_slo: bool,
    /// No estimate and no progress bar on stderr for long runs.
    #[arg(long, short)]
    pub(crate) quiet: bool,
    /// Write one row per request of replication 0 (its picks, queue, LLM
    /// calls, 429s, fallbacks, outcome and latency breakdown) to FILE,
    /// `.csv` or `.parquet`; the slowest requests' stories are printed on
    /// stderr.
    #[arg(long, value_name = "FILE")]
    pub(crate) trace_requests: Option<PathBuf>,
    /// Trace every N-th request to arrive (1st, N+1-th, ...), not all.
    #[arg(long, value_name = "N", requires = "trace_requests",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) sample: Option<u64>,
}

#[derive(Debug, Args)]
pub(crate) struct ValidateArgs {
    /// Scenario, sweep, gate or baseline files to check (`-`: standard
    /// input).
    #[arg(required = true, value_name = "FILE")]
    pub(crate) scenarios: Vec<PathBuf>,
}

const CALIBRATE_EXAMPLES: &str = "\
Examples:
  # nginx in front of 4 synthetic backends, 3 s of load, 3 replications
  fleetsim calibrate scenarios/calibration/steady.json --proxy nginx \\
      --duration 3s --replications 3
  # as JSON, with the per-request CSV, the comparison and a chart in DIR
  fleetsim calibrate scenarios/calibration/slow-backend.json \\
      --proxy nginx --duration 3s --replications 3 --out calib/ --json

Everything runs on 127.0.0.1 and stops by itself. The scenario's
instances become synthetic HTTP backends (its slots, its service-time
distribution scaled by --time-scale: 0.001 makes seconds milliseconds);
an open-loop Poisson load at the scenario's rate (scaled) goes through
the proxy (`fleetsim proxy` unless --proxy nginx or --target); the
path's own cost is measured after the load with zero service time and
subtracted. The simulation runs twice: as independent replications
(their range should bracket the real figure) and as a paired replay fed
the real run's own arrival and service times (a trace with a
service_time column), which separates model error from the luck of one
run. Exit 0 with the table; 2 bad input (a non-loopback --target); 3 the
target or the generator failed.";

/// `fleetsim calibrate`.
#[derive(Debug, Args)]
pub(crate) struct CalibrateArgs {
    /// Scenario file (JSON or YAML): its instances, slots, service times,
    /// rate and balancer.
    pub(crate) scenario: PathBuf,
    /// A proxy already running at ADDR (127.0.0.1:PORT) in front of the
    /// backends printed on stderr; it is not started or stopped.
    #[arg(long, value_name = "ADDR", conflicts_with = "proxy")]
    pub(crate) target: Option<String>,
    /// Which proxy to start in front of the backends, configured from the
    /// scenario's balancer: `fleetsim` (`fleetsim proxy`, the default) or
    /// `nginx`.
    #[arg(long, value_enum, default_value = "fleetsim")]
    pub(crate) proxy: ProxyKind,
    /// Replace the scenario's balancer: round-robin, weighted (with the
    /// scenario's `weighted` map), least-connections, power-of-two or
    /// random; any but weighted drops the weights.
    #[arg(long, value_name = "NAME")]
    pub(crate) strategy: Option<String>,
    /// How long the load runs, wall-clock (e.g. 20s, 2m; at most 30m).
    #[arg(long, value_name = "D", default_value = "20s")]
    pub(crate) duration: String,
    /// Real seconds per scenario second (0.001: the scenario's seconds
    /// become milliseconds).
    #[arg(long, value_name = "X", default_value_t = 0.001)]
    pub(crate) time_scale: f64,
    /// Seed of the load, the service times and the simulation (default:
    /// the scenario's `run.seed`).
    #[arg(long, value_name = "N")]
    pub(crate) seed: Option<u64>,
    /// Independent simulated replications.
    #[arg(long, value_name = "N", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub(crate) replications: u32,
    /// Write requests.csv, comparison.csv, calibration.json, the paired
    /// replay's trace and scenario, and calibration.svg into DIR.
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
    /// Print the comparison as JSON on stdout instead of the table.
    #[arg(long)]
    pub(crate) json: bool,
}

/// The proxies `calibrate` can start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ProxyKind {
    /// `fleetsim proxy`, this binary.
    Fleetsim,
    /// nginx (from PATH, or /usr/sbin/nginx).
    Nginx,
}
