//! Command-line arguments. They become the same `Config` the Lambda reads from its environment.

use std::collections::BTreeMap;

use clap::{Parser, Subcommand, ValueEnum};

use crate::config::{Config, ConfigError};

#[derive(Debug, Parser)]
#[command(
    name = "ssm-replicator",
    version,
    about = "Replicate SSM Parameter Store parameters from a source region to other regions and accounts",
    after_help = "Exit status: 0 done (or in sync), 1 error or failed replications, 2 bad usage, 3 drift found (--check)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub options: Options,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Full sync now: write only the drift, delete owned orphans.
    Sync {
        /// Print the plan and write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Drift report per parameter per target: in-sync, missing, drifted (fields), orphan, unmanaged.
    Diff {
        /// Exit with status 3 when anything is missing, drifted or orphaned (a CI drift gate).
        #[arg(long)]
        check: bool,
        /// Also list parameters that are in sync (the table shows only differences by default).
        #[arg(long)]
        all: bool,
    },
    /// Replicate these parameters now (as their change events would).
    Replicate {
        #[arg(required = true, value_name = "NAME")]
        names: Vec<String>,
        /// Print the plan and write nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum SelectionArg {
    Tagged,
    All,
}

#[derive(Debug, clap::Args)]
pub struct Options {
    /// Region to replicate from [default: the profile's or AWS_REGION].
    #[arg(long, global = true)]
    pub source_region: Option<String>,
    /// Targets, comma-separated: REGION (this account) or ACCOUNT/REGION (another account, through
    /// --target-role there).
    #[arg(long, global = true, value_delimiter = ',')]
    pub targets: Vec<String>,
    /// The role assumed in every other target account [default: ssm-replicator-target].
    #[arg(long, global = true, value_name = "NAME")]
    pub target_role: Option<String>,
    /// Only parameters under this path (repeatable).
    #[arg(long = "path", global = true, value_name = "PATH")]
    pub paths: Vec<String>,
    /// tagged: parameters tagged yes/true/region list; all: everything under --path unless tagged no.
    #[arg(long, global = true, value_enum, default_value_t = SelectionArg::Tagged)]
    pub selection: SelectionArg,
    /// The selection tag key.
    #[arg(long, global = true, default_value = "replicate")]
    pub tag: String,
    /// target=key-id-or-alias-or-arn,... for SecureStrings in that target (REGION or ACCOUNT/REGION).
    #[arg(long, global = true)]
    pub kms_key_map: Option<String>,
    /// Never delete replicas, even owned ones whose source is gone.
    #[arg(long, global = true)]
    pub no_delete: bool,
    /// Leave same-name target parameters without the ownership tag alone instead of adopting them
    /// (the default with `--selection all`).
    #[arg(long, global = true, conflicts_with = "adopt")]
    pub no_adopt: bool,
    /// Adopt same-name target parameters without the ownership tag (the default with `--selection tagged`).
    #[arg(long, global = true)]
    pub adopt: bool,
    /// Delete and create again an owned replica whose type, or Advanced → Standard tier, must change
    /// (SSM refuses that in place); the replica is absent in between.
    #[arg(long, global = true)]
    pub recreate: bool,
    /// Delete owned replicas whose source exists but no longer selects their target.
    #[arg(long, global = true)]
    pub prune: bool,
    /// Replicate aws:ec2:image parameters too.
    #[arg(long, global = true)]
    pub replicate_ami: bool,
    /// Replicate parameter labels, mapped by content onto the replicas' versions (costs a
    /// GetParameterHistory per parameter, and per target where the source has labels).
    #[arg(long, global = true)]
    pub labels: bool,
    /// Replicate Secrets Manager secrets too (rows of kind `secret`): natively in this account's target
    /// regions, as copies in other accounts. Needs --secret-prefix.
    #[arg(long, global = true)]
    pub secrets: bool,
    /// Secret name prefixes, comma-separated (e.g. prod/): only secrets under them are replicated.
    #[arg(long = "secret-prefix", global = true, value_delimiter = ',', value_name = "PREFIX")]
    pub secret_prefixes: Vec<String>,
    /// Reads per second per region [default: 40].
    #[arg(long, global = true)]
    pub read_tps: Option<u32>,
    /// Writes per second per region [default: 3].
    #[arg(long, global = true)]
    pub write_tps: Option<u32>,
    /// Send every AWS call to this endpoint (e.g. a local emulator).
    #[arg(long, global = true)]
    pub endpoint_url: Option<String>,
    /// AWS profile for credentials and the default region.
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// JSON lines on stdout (one per parameter and target, then a summary) instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
}

impl Options {
    /// The `Config` these flags describe; errors name the flag, not the environment variable.
    pub fn config(&self, default_region: Option<&str>) -> Result<Config, ConfigError> {
        let mut vars: BTreeMap<&str, String> = BTreeMap::new();
        if let Some(r) = self.source_region.as_deref().or(default_region) {
            vars.insert("SOURCE_REGION", r.to_owned());
        }
        vars.insert("TARGETS", self.targets.join(","));
        if let Some(role) = &self.target_role {
            vars.insert("TARGET_ROLE_NAME", role.clone());
        }
        vars.insert("PATH_PREFIXES", self.paths.join(","));
        vars.insert("SELECTION_MODE", format!("{:?}", self.selection).to_ascii_lowercase());
        vars.insert("SELECTION_TAG", self.tag.clone());
        if let Some(m) = &self.kms_key_map {
            vars.insert("KMS_KEY_MAP", m.clone());
        }
        vars.insert("DELETE_REPLICAS", (!self.no_delete).to_string());
        // Neither flag: the configuration's default for the selection mode.
        if self.adopt || self.no_adopt {
            vars.insert("ADOPT_UNMANAGED", self.adopt.to_string());
        }
        vars.insert("REPLICATE_AMI_PARAMETERS", self.replicate_ami.to_string());
        vars.insert("REPLICATE_LABELS", self.labels.to_string());
        vars.insert("RECREATE_REPLICAS", self.recreate.to_string());
        vars.insert("PRUNE_DESELECTED", self.prune.to_string());
        vars.insert("SECRETS", self.secrets.to_string());
        vars.insert("SECRET_PREFIXES", self.secret_prefixes.join(","));
        if let Some(n) = self.read_tps {
            vars.insert("READ_TPS", n.to_string());
        }
        if let Some(n) = self.write_tps {
            vars.insert("WRITE_TPS", n.to_string());
        }
        Config::from_lookup(|k| vars.get(k).cloned()).map_err(|e| ConfigError { var: flag_for(e.var), ..e })
    }
}

fn flag_for(var: &'static str) -> &'static str {
    match var {
        "SOURCE_REGION" => "--source-region",
        "TARGETS" => "--targets",
        "TARGET_ROLE_NAME" => "--target-role",
        "PATH_PREFIXES" => "--path",
        "SELECTION_MODE" => "--selection",
        "SELECTION_TAG" => "--tag",
        "KMS_KEY_MAP" => "--kms-key-map",
        "SECRET_PREFIXES" => "--secret-prefix",
        "SECRETS" => "--secrets",
        "READ_TPS" => "--read-tps",
        "WRITE_TPS" => "--write-tps",
        other => other,
    }
}
