//! Configuration: built-in defaults, then `deskbot.toml`, then `DESKBOT_*` environment overrides.
//! Secrets never come from the file; they are read from the environment by the adapters that need them.

use crate::core::calendar::{CalendarSpec, Calendars};
use crate::core::roles::Role;
use crate::core::sla::{Policies, PolicySpec, default_policies};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `sqlite://deskbot.db` (the default: a file next to where deskbot runs) or `postgres://user@host/db`.
    pub database_url: String,
    /// IANA time zone for times shown to people.
    pub timezone: String,
    pub channels: Channels,
    pub catalog: CatalogConfig,
    pub triage: TriageConfig,
    /// How a person's messages are tied together: bursts, follow-ups, thank-yous, "nvm", major incidents.
    pub conversation: ConversationConfig,
    /// Business-hours calendars by name (`24x7` is built in).
    pub calendars: BTreeMap<String, CalendarSpec>,
    pub sla: SlaConfig,
    pub runbooks: RunbooksConfig,
    pub reports: ReportsConfig,
    /// Roles per platform and user id: `[roles.slack] U012ABC = "technician"`. Anyone not listed is a requester.
    pub roles: BTreeMap<String, BTreeMap<String, Role>>,
    /// The mail relay for email vendors.
    pub smtp: crate::core::vendor::SmtpConfig,
    /// The vendor directory (`[[vendors]]`).
    pub vendors: Vec<crate::core::vendor::VendorSpec>,
    /// Monitoring alerts into tickets.
    pub alerts: AlertsConfig,
    /// Microsoft Teams (`[teams]`); the adapter runs when `app_id` is set.
    #[serde(default)]
    pub teams: crate::adapters::teams::TeamsConfig,
    /// The Discord adapter (on when `DISCORD_TOKEN` is set).
    pub discord: crate::adapters::discord::DiscordConfig,
    /// The Slack adapter (tokens come from the environment).
    #[serde(default)]
    pub slack: crate::adapters::slack::SlackConfig,
}

/// How monitoring alerts (`POST /api/v1/alerts…`) become tickets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsConfig {
    /// The chat platform whose queue channel gets alert tickets' cards: slack, teams, discord, http or console.
    pub platform: String,
    /// A group that fires again this soon after its ticket resolved reopens the ticket (flapping).
    pub reopen_within: String,
    /// New alert tickets per monitoring source per hour; past it, alert groups fold into one storm ticket.
    pub max_new_tickets_per_hour: i64,
    /// A flapping group's reopens are told (to the owner, else the queue) on the first flap and then every this
    /// many flaps; the card follows every one.
    pub flap_notice_every: u32,
    /// Category when no rule or `category` label says.
    pub default_category: String,
    /// Label rules, first match wins: `[[alerts.rule]] match = { service = "internet" }, category, priority,
    /// runbook`.
    pub rule: Vec<crate::core::alerts::AlertRule>,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            platform: "http".into(),
            reopen_within: "30m".into(),
            max_new_tickets_per_hour: 20,
            flap_notice_every: 5,
            default_category: "other".into(),
            rule: vec![],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Channels {
    /// Where staff ask for help; every message there is read.
    pub helpdesk: String,
    /// Where technicians see new-ticket cards.
    pub queue: String,
    /// Where SLA breaches are announced.
    pub escalation: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CatalogConfig {
    /// Directory of intent files; the shipped intents are used when unset.
    pub intents_dir: Option<String>,
    /// The office's own ticket history to train triage on at start-up (CSV).
    pub train_csv: Option<String>,
    /// Column of `train_csv` with the message text.
    pub train_text_column: String,
    /// Column of `train_csv` with the category (a category id, or a label mapped by `train_map`).
    pub train_label_column: String,
    /// `FROM=TO` label mappings for `train_csv`; rows whose label maps to no category are skipped.
    pub train_map: Vec<String>,
}

impl Default for CatalogConfig {
    fn default() -> Self {
        CatalogConfig {
            intents_dir: None,
            train_csv: None,
            train_text_column: "text".into(),
            train_label_column: "category".into(),
            train_map: vec![],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TriageConfig {
    /// Confidence at or above which a ticket is opened with the guessed category.
    pub confident: f64,
    /// Below `confident`, a message at least this likely to be not-IT is left alone (silence in channels, a short
    /// reply in DMs) instead of getting category buttons.
    pub quiet_if_not_it: f64,
    /// New tickets one person may open per hour; past it deskbot says so (once an hour) and opens no more.
    pub max_new_tickets_per_hour: i64,
    /// New tickets one source (a platform: a chat workspace, the HTTP intake's client) may open per minute, all
    /// people together; past it new requests are held back (their senders asked to send them again shortly) and
    /// the queue channel is told once. 0 turns it off.
    pub intake_budget_per_minute: i64,
}

/// `[conversation]`: windows are wall-clock durations (`3m`, `30m`, `24h`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConversationConfig {
    /// Messages from one person in one place this close to their last one are one problem.
    pub burst_window: String,
    /// A follow-up ("also …") or a same-category message this soon after the person's ticket joins it or asks.
    pub follow_up_window: String,
    /// "nvm" / "fixed it myself" this soon after raising a ticket offers to close it.
    pub withdraw_window: String,
    /// A thank-you outside the ticket's thread this soon after its resolution is noted on it (opens nothing).
    pub thanks_window: String,
    /// Different people reporting the same kind of problem within `major_window` that make a major incident
    /// (0 turns automatic detection off; `/ticket major N` still works).
    pub major_threshold: usize,
    pub major_window: String,
}

impl Default for ConversationConfig {
    fn default() -> Self {
        ConversationConfig {
            burst_window: "3m".into(),
            follow_up_window: "30m".into(),
            withdraw_window: "30m".into(),
            thanks_window: "24h".into(),
            major_threshold: 3,
            major_window: "10m".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlaConfig {
    /// A reopen more than this long after resolution starts a new resolution cycle instead of continuing the old one.
    pub reopen_new_cycle_after: String,
    /// Ordered; the first matching policy wins; the last must match everything.
    pub policy: Vec<PolicySpec>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunbooksConfig {
    /// Directory with your own runbook files, used besides the shipped ones (same file name: yours wins).
    pub dir: Option<String>,
    /// Values for `{{ placeholder }}` in runbook text.
    pub vars: BTreeMap<String, String>,
}

/// The scheduled weekly summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportsConfig {
    /// Channel for the weekly post; no post when unset.
    pub channel: Option<String>,
    /// The chat platform that channel is on: slack, teams, discord, http or console.
    pub platform: String,
    /// mon, tue, … sun.
    pub weekday: String,
    /// Local time, HH:MM.
    pub time: String,
    /// IANA zone for the posting time and the report's weeks (default: `timezone`).
    pub timezone: Option<String>,
}

impl Default for ReportsConfig {
    fn default() -> Self {
        ReportsConfig {
            channel: None,
            platform: "http".into(),
            weekday: "mon".into(),
            time: "08:00".into(),
            timezone: None,
        }
    }
}

impl Default for RunbooksConfig {
    fn default() -> Self {
        let vars = [
            ("helpdesk_phone", "the IT helpdesk phone line"),
            ("portal_url", "https://passwordreset.microsoftonline.com"),
            ("mfa_setup_url", "https://aka.ms/mysecurityinfo"),
            ("wifi_name", "the staff Wi-Fi"),
            ("vpn_app", "the VPN app"),
            ("webmail_url", "https://outlook.office.com"),
        ];
        RunbooksConfig { dir: None, vars: vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database_url: "sqlite://deskbot.db".into(),
            timezone: "UTC".into(),
            channels: Channels::default(),
            catalog: CatalogConfig::default(),
            triage: TriageConfig::default(),
            conversation: ConversationConfig::default(),
            calendars: BTreeMap::new(),
            sla: SlaConfig::default(),
            runbooks: RunbooksConfig::default(),
            reports: ReportsConfig::default(),
            roles: BTreeMap::new(),
            smtp: crate::core::vendor::SmtpConfig::default(),
            vendors: vec![],
            alerts: AlertsConfig::default(),
            teams: crate::adapters::teams::TeamsConfig::default(),
            discord: crate::adapters::discord::DiscordConfig::default(),
            slack: crate::adapters::slack::SlackConfig::default(),
        }
    }
}

impl Default for Channels {
    fn default() -> Self {
        Channels {
            helpdesk: "helpdesk".into(),
            queue: "helpdesk-queue".into(),
            escalation: "helpdesk-escalations".into(),
        }
    }
}

impl Default for TriageConfig {
    fn default() -> Self {
        let p = crate::core::triage::Policy::default();
        TriageConfig {
            confident: p.confident,
            quiet_if_not_it: p.quiet_if_not_it,
            max_new_tickets_per_hour: 10,
            intake_budget_per_minute: 30,
        }
    }
}

impl TriageConfig {
    /// The thresholds triage decides with.
    pub fn policy(&self) -> crate::core::triage::Policy {
        crate::core::triage::Policy { confident: self.confident, quiet_if_not_it: self.quiet_if_not_it }
    }
}

impl Default for SlaConfig {
    fn default() -> Self {
        SlaConfig { reopen_new_cycle_after: "7d".into(), policy: default_policies() }
    }
}

/// The documented default file printed by `deskbot config print-default`. A test checks it equals the defaults.
pub const DEFAULT_TOML: &str = r#"# deskbot configuration. Every key is optional; the values below are the defaults.
# Environment variables override keys: DESKBOT_DATABASE_URL, DESKBOT_TIMEZONE, DESKBOT_CHANNELS__QUEUE, ...
# (DESKBOT_ + the key path in capitals, with __ between levels). Secrets (tokens, signing secrets, passwords)
# are never read from this file; each adapter documents the environment variables it reads.

# sqlite://FILE (embedded, the default) or postgres://USER@HOST:PORT/DB (several replicas on one database).
database_url = "sqlite://deskbot.db"
# IANA time zone for times shown in chat.
timezone = "UTC"

[channels]
# Where staff ask for help: every message there is read (elsewhere only when the bot is mentioned or DMed).
helpdesk = "helpdesk"
# Where technicians get new-ticket cards.
queue = "helpdesk-queue"
# Where SLA breaches are announced (with the managers told directly).
escalation = "helpdesk-escalations"

[catalog]
# Directory with your own intent files (see intents/README.md); the shipped intents are used when unset.
# intents_dir = "intents"
# Train triage at start-up on your own ticket history as well (CSV with a text and a category column).
# train_csv = "history.csv"
train_text_column = "text"
train_label_column = "category"
# Map your labels to category ids, e.g. ["printer=printing", "email=saas"]; rows mapping to no category are skipped.
train_map = []

[triage]
# A ticket opens with the guessed category at or above this confidence; below it deskbot asks the requester to pick.
confident = 0.6
# Below `confident`, a message at least this likely to be not an IT request is left alone (silence in channels, a
# short reply in DMs) instead of getting category buttons.
quiet_if_not_it = 0.25
# New tickets one person may open per hour (a flood of messages opens at most this many and is told so once).
max_new_tickets_per_hour = 10
# New tickets one source (a platform: the Slack workspace, the HTTP intake's client, …) may open per minute, all
# people together; past it new requests are held back (each sender asked to send it again in a few minutes) and the
# queue channel is told once. 0 turns it off.
intake_budget_per_minute = 30

# How one person's messages make one conversation (wall-clock durations; "0s" turns that part off).
[conversation]
# Messages from one person in one place this close to their last one are one problem: later ones join the ticket
# (or the question) the first one started.
burst_window = "3m"
# "also …", "and now …", "same problem …", or the same category as a ticket the person opened this recently: joins
# that ticket or asks "Is this about #N?", never a second ticket.
follow_up_window = "30m"
# "nvm", "fixed it myself", "ignore that" this soon after raising a ticket offers to close it.
withdraw_window = "30m"
# "thanks!" outside the ticket's thread this soon after its resolution is noted on it and opens nothing.
thanks_window = "24h"
# This many different people reporting the same kind of problem (category and intent) within major_window make
# the first of their tickets a major incident; later reporters join it (0: only `/ticket major N`).
major_threshold = 3
major_window = "10m"

# Business-hours calendars for SLA policies ("24x7" is built in, and "office", Monday to Friday 09:00-17:30 in
# `timezone`, unless defined here). Days left out are closed; several ranges per day; "00:00-24:00" allowed.
# Holidays: "YYYY-MM-DD" once, "MM-DD" every year.
[calendars]
# [calendars.office]
# timezone = "Europe/London"
# mon = ["08:30-12:30", "13:30-17:30"]
# tue = ["08:30-17:30"]
# wed = ["08:30-17:30"]
# thu = ["08:30-17:30"]
# fri = ["08:30-16:00"]
# holidays = ["2026-12-25", "12-26", "01-01"]

# SLA policies: the first whose categories/priorities/types match wins; the last must have no conditions.
# Durations are business time on the policy's calendar: 30m, 4h, 2d (= two working days of that calendar), 1h30m.
# Waiting on the requester pauses every clock; pause_on_vendor = true also pauses resolution while waiting on a
# vendor. Due instants are floored to the whole minute. next_response (optional) is the time to answer each
# requester message that follows a technician reply. The owner is warned at the first `warn` percentage (the
# queue channel if nobody owns the ticket), the owner and leads at the second; at 100% the escalation channel,
# the managers and the owner are told. Each fires once per clock cycle.
[sla]
# A reopen more than this long after resolution starts a new resolution cycle (wall-clock time).
reopen_new_cycle_after = "7d"

[[sla.policy]]
name = "p1"
priorities = ["P1"]
first_response = "30m"
next_response = "30m"
resolution = "4h"
calendar = "24x7"
pause_on_vendor = false
warn = [75, 90]

[[sla.policy]]
name = "p2"
priorities = ["P2"]
first_response = "1h"
next_response = "1h"
resolution = "8h"
calendar = "office"
pause_on_vendor = false
warn = [75, 90]

[[sla.policy]]
name = "p3"
priorities = ["P3"]
first_response = "4h"
next_response = "4h"
resolution = "2d"
calendar = "office"
pause_on_vendor = false
warn = [75, 90]

[[sla.policy]]
name = "default"
first_response = "8h"
next_response = "8h"
resolution = "5d"
calendar = "office"
pause_on_vendor = false
warn = [75, 90]

[reports]
# Post the weekly summary (last week's KPIs and chart) to this channel; unset = no scheduled post.
# channel = "it-managers"
# The chat platform that channel is on: slack, teams, discord, http or console.
platform = "http"
weekday = "mon"
time = "08:00"
# timezone = "Europe/London"   # default: the top-level timezone

[runbooks]
# Directory with your own runbooks (see runbooks/README.md), used besides the shipped ones; a file with a shipped
# runbook's name replaces it.
# dir = "runbooks"

# Values for {{ placeholders }} in runbook text. Set these to your office's own.
[runbooks.vars]
helpdesk_phone = "the IT helpdesk phone line"
portal_url = "https://passwordreset.microsoftonline.com"
mfa_setup_url = "https://aka.ms/mysecurityinfo"
wifi_name = "the staff Wi-Fi"
vpn_app = "the VPN app"
webmail_url = "https://outlook.office.com"

# Roles per platform and user id; anyone not listed is a requester.
# Roles: requester, technician, lead, manager, admin.
[roles]
# [roles.console]
# sam = "technician"
# [roles.slack]
# U012ABCDEF = "lead"

# The mail relay for email vendors. tls: starttls, tls (implicit) or none. The password is read from
# DESKBOT_SMTP_PASSWORD, never from this file.
[smtp]
host = "localhost"
port = 587
tls = "starttls"
from = "deskbot@localhost"
# username = "deskbot"

# Vendors tickets can be escalated to (/ticket escalate N VENDOR). Exactly one contact: email, webhook (signed with
# HMAC-SHA256 by the key in the environment variable named by signing_env) or manual. Contract targets are
# business durations on the calendar; the owner is prompted to chase at 75% of a target or after chase_every
# with no update.
# [[vendors]]
# id = "acme"
# name = "Acme Networks"
# categories = ["network"]
# email = "support@acme.example"
# # webhook = "https://acme.example/deskbot"
# # signing_env = "DESKBOT_VENDOR_ACME_SIGNING"
# # manual = { phone = "+44 20 7946 0000", portal = "https://support.acme.example" }
# [vendors.contract]
# calendar = "24x7"
# response = "4h"
# resolution = "5d"
# chase_every = "1d"

# Monitoring alerts (POST /api/v1/alerts/alertmanager, POST /api/v1/alerts) become tickets: one per alert group
# while it fires. Authentication: DESKBOT_ALERTS_TOKEN (bearer; default DESKBOT_HTTP_TOKEN) or an HMAC-SHA256
# signature with DESKBOT_ALERTS_HMAC_SECRET (once it is set, POST /api/v1/alerts takes signed requests only);
# never in this file.
[alerts]
# The chat platform whose queue channel gets alert tickets' cards: slack, teams, discord, http or console.
platform = "http"
# A group that fires again this soon after its ticket resolved reopens that ticket instead of opening a new one.
reopen_within = "30m"
# New alert tickets per monitoring source per hour; past it, further groups are collected on one storm ticket.
max_new_tickets_per_hour = 20
# A flapping group's reopens are told (owner, else the queue channel) on the first flap, then every this many.
flap_notice_every = 5
# Category when no rule and no `category` label says. Priority: the rule, else a `priority` label (P1 to P4),
# else the `severity` label: critical, crit, fatal, page, emergency, disaster → P1; error, err, major, high → P2;
# warning, warn, minor, medium, average → P3; anything else → P4. A group takes its most severe firing alert's.
default_category = "other"
# Rules (none by default), first match wins. `match` compares literally: a value may list alternatives (a|b) or be
# * (label present). `matchers` are Alertmanager's: label=value, label!=value, label=~regex, label!~regex (the regex
# matches the whole value; a missing label reads as ""; case-sensitive unless the regex says (?i)). All must hold.
# `runbook` names a runbook id (`deskbot runbooks check` lists them).
# [[alerts.rule]]
# match = { service = "internet|vpn" }
# matchers = ['env!="staging"', 'instance=~"fw[0-9]+.*"']
# category = "network"
# priority = "P1"
# runbook = "vpn-dropping"
# Microsoft Teams (README: "Run on Teams"). Runs when app_id is set; the app password (client secret) is read
# from DESKBOT_TEAMS_APP_PASSWORD, never from this file.
[teams]
# app_id = "00000000-0000-0000-0000-000000000000"
# tenant_id = "00000000-0000-0000-0000-000000000000"
openid_metadata_url = "https://login.botframework.com/v1/.well-known/openidconfiguration"
login_url = "https://login.microsoftonline.com"
# Service URL for proactive messages before Teams has sent anything (afterwards the one Teams uses is kept).
# service_url = "https://smba.trafficmanager.net/emea/"

# Logical channels (helpdesk, helpdesk-queue, helpdesk-escalations, the reports channel) -> Teams channel ids.
[teams.channels]
# helpdesk-queue = "19:abc123@thread.tacv2"
# Discord (on when DISCORD_TOKEN is set; see README "Run on Discord"). Roles: [roles.discord] maps user ids
# ("123456789012345678" = "technician") and Discord role ids ("role:987654321098765432" = "technician").
[discord]
# Logical channels (from [channels] and [reports]) to Discord channel ids; unmapped names are used as ids.
# channels = { helpdesk = "123456789012345678", helpdesk-queue = "234567890123456789" }
channels = {}
# Servers to register /ticket and /helpdesk in at start-up (instant); global registration is slower to show.
guilds = []
global_commands = false
# The application's public key (hex; not a secret): accept interactions at POST /discord/interactions too.
# public_key = "..."
# Only one replica holds the gateway: its lease lasts this long without renewal (renewed every third).
gateway_lease_seconds = 30
# Where REST calls go (requests are {api_url}/api/v10/...). Point it at a rate-limiting proxy such as twilight's
# http-proxy shared by several replicas (deskbot's own rate limiter is then off), or at a fake in tests.
api_url = "https://discord.com"
# Slack (README "Run on Slack"). Runs when SLACK_BOT_TOKEN is set; SLACK_APP_TOKEN (Socket Mode) or
# SLACK_SIGNING_SECRET (HTTP) come from the environment too, never from this file.
[slack]
# socket (Socket Mode: no public URL needed) or http (Events API: /slack/events, /slack/commands,
# /slack/interactivity on deskbot serve's address, behind your HTTPS proxy).
mode = "socket"
api_url = "https://slack.com/api"
# How long display names and user group memberships are cached.
name_cache_minutes = 60
group_cache_minutes = 10

# The channel names used above ([channels], [reports]) mapped to Slack channel ids (right-click a channel, Copy
# link: the id is the last part). Unmapped names are sent to Slack as given.
[slack.channels]
# helpdesk = "C0123HELP"
# helpdesk-queue = "C0123QUEUE"
# helpdesk-escalations = "C0123ESC"

# Slack user groups (ids S…) to roles: members get the highest role of their groups, or their [roles.slack]
# role if that is higher. Memberships are read with usergroups.users.list.
[slack.groups]
# S0123TECHS = "technician"
# S0123LEADS = "lead"
"#;

/// Keys that look like secrets are refused in the file.
const SECRET_WORDS: [&str; 4] = ["token", "secret", "password", "api_key"];

/// A configuration error, naming the file or variable and the key.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl Config {
    /// Loads defaults, then `path` if given (or `./deskbot.toml` if it exists), then the environment.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let env: Vec<(String, String)> = std::env::vars().filter(|(k, _)| k.starts_with("DESKBOT_")).collect();
        let default_path = Path::new("deskbot.toml");
        let path = path.or_else(|| default_path.exists().then_some(default_path));
        let (name, text) = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| ConfigError(format!("cannot read config file {}: {e}", p.display())))?;
                (p.display().to_string(), text)
            }
            None => ("(defaults)".to_string(), String::new()),
        };
        Self::from_parts(&name, &text, &env)
    }

    /// Parses `text` (from `name`) and applies `env` overrides; then validates.
    pub fn from_parts(name: &str, text: &str, env: &[(String, String)]) -> Result<Config, ConfigError> {
        let mut value: toml::Table =
            toml::from_str(text).map_err(|e| ConfigError(format!("{name}: {}", e.to_string().trim_end())))?;
        check_no_secrets(name, &value, "")?;
        if let Some(toml::Value::String(url)) = value.get("database_url")
            && crate::store::url_has_password(url)
        {
            return Err(ConfigError(format!(
                "{name}: key `database_url` holds a password, which is never read from the config file: set \
                 DESKBOT_DATABASE_URL in the environment instead (the whole URL, password included)"
            )));
        }
        let mut from_env = vec![];
        // Only variables naming a configuration key are overrides; others (DESKBOT_CONFIG, DESKBOT_LISTEN,
        // DESKBOT_HTTP_TOKEN, …) belong to the command line or an adapter.
        let top: Vec<String> = match toml::Table::try_from(Config::default()) {
            Ok(t) => t.keys().cloned().collect(),
            Err(_) => vec![],
        };
        for (k, v) in env {
            if let Some(path) = env_key(k) {
                if SECRET_WORDS.iter().any(|w| k.to_ascii_lowercase().contains(w)) || !top.contains(&path[0]) {
                    continue; // secrets are read by the adapters that use them, not part of the config tree
                }
                set_path(&mut value, &path, parse_env_value(v));
                from_env.push((path.join("."), k.clone()));
            }
        }
        let cfg: Config = serde_path_to_error::deserialize(toml::Value::Table(value)).map_err(|e| {
            let key = e.path().to_string();
            let src = from_env
                .iter()
                .find(|(p, _)| key.starts_with(p.as_str()) || p.starts_with(&key))
                .map(|(_, var)| format!("environment variable {var}"))
                .unwrap_or_else(|| name.to_string());
            ConfigError(format!("{src}: key `{key}`: {}", e.inner()))
        })?;
        cfg.validate().map_err(|e| ConfigError(format!("{name}: {e}")))?;
        Ok(cfg)
    }

    /// Checks values that parse but make no sense. Every problem is reported, one per line, not only the first:
    /// someone fixing a file should not have to run the check once per mistake.
    pub fn validate(&self) -> Result<(), String> {
        let mut problems: Vec<String> = vec![];
        let mut check = |r: Result<(), String>| {
            if let Err(e) = r {
                problems.push(e);
            }
        };
        check(self.timezone.parse::<chrono_tz::Tz>().map(drop).map_err(|_| {
            format!("key `timezone`: unknown time zone `{}` (use an IANA name like Europe/London)", self.timezone)
        }));
        for (key, v) in [("confident", self.triage.confident), ("quiet_if_not_it", self.triage.quiet_if_not_it)] {
            if !(0.0..=1.0).contains(&v) {
                check(Err(format!("key `triage.{key}`: {v} is not between 0 and 1")));
            }
        }
        check(self.policies().map(drop));
        check(self.reopen_new_cycle_after().map(drop));
        check(self.conversation_settings().map(drop));
        check(self.report_schedule().map(drop));
        check(self.smtp.validate());
        check(self.vendors().map(drop));
        check(self.alert_settings().map(drop));
        check(self.teams.validate());
        check(self.discord.validate());
        for platform in self.roles.keys() {
            if crate::core::ids::Platform::parse(platform).is_none() {
                check(Err(format!(
                    "key `roles.{platform}`: unknown platform (use console, slack, teams, discord, http)"
                )));
            }
        }
        if self.channels.helpdesk.trim().is_empty() || self.channels.queue.trim().is_empty() {
            check(Err("key `channels`: channel names cannot be empty".into()));
        }
        let url = self.database_url.trim();
        if !(url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            check(Err(format!(
                "key `database_url`: unsupported URL `{}`; use sqlite://FILE or postgres://USER@HOST/DB",
                crate::store::redact_url(url)
            )));
        }
        // Settings that share a part (a calendar several policies use) would each report its problem.
        let mut seen = std::collections::HashSet::new();
        problems.retain(|p| seen.insert(p.clone()));
        match problems.len() {
            0 => Ok(()),
            1 => Err(problems.remove(0)),
            n => Err(format!("{n} problems:\n  {}", problems.join("\n  "))),
        }
    }

    /// The validated calendars: those configured, and `office` (Monday to Friday 09:00-17:30 in `timezone`, the
    /// calendar of the default policies but P1's) unless the file defines its own (#27: out of the box deskbot
    /// promised "a technician will respond by Sun 19:47").
    pub fn calendars(&self) -> Result<Calendars, String> {
        // A bad `timezone` is reported for its own key, not again for the built-in calendar that follows it.
        let tz = if self.timezone.parse::<chrono_tz::Tz>().is_ok() { self.timezone.as_str() } else { "UTC" };
        Calendars::new_in(&self.calendars, tz)
    }

    /// The weekly report schedule, validated.
    pub fn report_schedule(&self) -> Result<Option<crate::core::desk::ReportSchedule>, String> {
        let r = &self.reports;
        let weekday = match r.weekday.to_ascii_lowercase().as_str() {
            "mon" => chrono::Weekday::Mon,
            "tue" => chrono::Weekday::Tue,
            "wed" => chrono::Weekday::Wed,
            "thu" => chrono::Weekday::Thu,
            "fri" => chrono::Weekday::Fri,
            "sat" => chrono::Weekday::Sat,
            "sun" => chrono::Weekday::Sun,
            other => {
                return Err(format!("key `reports.weekday`: `{other}` is not mon, tue, wed, thu, fri, sat or sun"));
            }
        };
        let time = chrono::NaiveTime::parse_from_str(&r.time, "%H:%M")
            .map_err(|_| format!("key `reports.time`: `{}` is not a time like 08:00", r.time))?;
        let tz_name = r.timezone.as_deref().unwrap_or(&self.timezone);
        let timezone: chrono_tz::Tz =
            tz_name.parse().map_err(|_| format!("key `reports.timezone`: unknown time zone `{tz_name}`"))?;
        let platform = crate::core::ids::Platform::parse(&r.platform).filter(|p| p.is_chat()).ok_or_else(|| {
            format!("key `reports.platform`: `{}` is not slack, teams, discord, http or console", r.platform)
        })?;
        Ok(r.channel.clone().map(|channel| crate::core::desk::ReportSchedule {
            platform,
            channel,
            weekday,
            time,
            timezone,
        }))
    }

    /// How long after resolution a reopen starts a new resolution cycle.
    pub fn reopen_new_cycle_after(&self) -> Result<chrono::Duration, String> {
        crate::core::duration::parse_duration(&self.sla.reopen_new_cycle_after)
            .map_err(|e| format!("key `sla.reopen_new_cycle_after`: {e}"))
    }

    /// The validated `[conversation]` windows.
    pub fn conversation_settings(&self) -> Result<crate::core::conversation::ConversationSettings, String> {
        let c = &self.conversation;
        let d = |key: &str, v: &str| {
            crate::core::duration::parse_duration(v).map_err(|e| format!("key `conversation.{key}`: {e}"))
        };
        Ok(crate::core::conversation::ConversationSettings {
            burst_window: d("burst_window", &c.burst_window)?,
            follow_up_window: d("follow_up_window", &c.follow_up_window)?,
            withdraw_window: d("withdraw_window", &c.withdraw_window)?,
            thanks_window: d("thanks_window", &c.thanks_window)?,
            major_threshold: c.major_threshold,
            major_window: d("major_window", &c.major_window)?,
        })
    }

    /// The validated SLA policies (on the validated calendars).
    pub fn policies(&self) -> Result<Policies, String> {
        Policies::new(&self.sla.policy, &self.calendars()?)
    }

    /// The validated vendor directory. Errors name the vendor and the field.
    pub fn vendors(&self) -> Result<crate::core::vendor::Vendors, String> {
        crate::core::vendor::Vendors::new(&self.vendors, &self.calendars()?)
    }

    /// The validated alert settings (categories and runbooks of rules are checked once they are loaded).
    pub fn alert_settings(&self) -> Result<crate::core::desk::AlertSettings, String> {
        let a = &self.alerts;
        let platform = crate::core::ids::Platform::parse(&a.platform).filter(|p| p.is_chat()).ok_or_else(|| {
            format!("key `alerts.platform`: `{}` is not slack, teams, discord, http or console", a.platform)
        })?;
        let reopen_within = crate::core::duration::parse_duration(&a.reopen_within)
            .map_err(|e| format!("key `alerts.reopen_within`: {e}"))?;
        if a.max_new_tickets_per_hour < 1 {
            return Err("key `alerts.max_new_tickets_per_hour`: must be at least 1".into());
        }
        if a.flap_notice_every < 1 {
            return Err("key `alerts.flap_notice_every`: must be at least 1".into());
        }
        for (i, r) in a.rule.iter().enumerate() {
            if let Some(problem) = r.problem() {
                return Err(format!("key `alerts.rule[{i}]`: {problem}"));
            }
            if let Some(p) = &r.priority
                && crate::core::ticket::Priority::parse(p).is_none()
            {
                return Err(format!("key `alerts.rule[{i}].priority`: `{p}` is not P1, P2, P3 or P4"));
            }
        }
        Ok(crate::core::desk::AlertSettings {
            platform,
            reopen_within,
            max_new_tickets_per_hour: a.max_new_tickets_per_hour,
            flap_notice_every: a.flap_notice_every,
            default_category: a.default_category.clone(),
            rules: a.rule.clone(),
        })
    }

    /// Role per user key (`platform:id`).
    pub fn role_map(&self) -> std::collections::HashMap<String, Role> {
        self.roles.iter().flat_map(|(p, users)| users.iter().map(move |(id, r)| (format!("{p}:{id}"), *r))).collect()
    }

    pub fn tz(&self) -> chrono_tz::Tz {
        self.timezone.parse().unwrap_or(chrono_tz::UTC)
    }

    /// The zone of the reports' weeks and months: `[reports] timezone`, else the top-level one. Posting time and
    /// period boundaries use the same zone, so a scheduled post always covers a week that has ended.
    pub fn report_tz(&self) -> Result<chrono_tz::Tz, String> {
        match self.reports.timezone.as_deref() {
            Some(name) => name.parse().map_err(|_| format!("key `reports.timezone`: unknown time zone `{name}`")),
            None => Ok(self.tz()),
        }
    }
}

/// The environment variable that holds the secret someone tried to put at `path` in the file, where there is one.
fn secret_variable(path: &str) -> Option<&'static str> {
    Some(match path {
        "slack.bot_token" | "slack.token" => "SLACK_BOT_TOKEN",
        "slack.app_token" => "SLACK_APP_TOKEN",
        "slack.signing_secret" => "SLACK_SIGNING_SECRET",
        "discord.token" | "discord.bot_token" => "DISCORD_TOKEN",
        "teams.app_password" | "teams.password" | "teams.client_secret" => crate::adapters::teams::PASSWORD_VAR,
        "http.token" => "DESKBOT_HTTP_TOKEN",
        "http.callback_token" => "DESKBOT_HTTP_CALLBACK_TOKEN",
        "alerts.token" => "DESKBOT_ALERTS_TOKEN",
        "alerts.hmac_secret" | "alerts.secret" => "DESKBOT_ALERTS_HMAC_SECRET",
        "smtp.password" => crate::core::vendor::SMTP_PASSWORD_VAR,
        _ => return None,
    })
}

fn check_no_secrets(name: &str, t: &toml::Table, prefix: &str) -> Result<(), ConfigError> {
    for (k, v) in t {
        let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
        let lk = k.to_ascii_lowercase();
        if SECRET_WORDS.iter().any(|w| lk.contains(w)) {
            let instead = match secret_variable(&path) {
                Some(var) => format!("set {var} in the environment instead"),
                None => "secrets are read from environment variables only (README, Configuration)".into(),
            };
            return Err(ConfigError(format!(
                "{name}: key `{path}` looks like a secret and is never read from the config file: {instead}"
            )));
        }
        if let toml::Value::Table(inner) = v
            && path != "roles"
            && !path.starts_with("roles.")
        {
            check_no_secrets(name, inner, &path)?;
        }
    }
    Ok(())
}

/// `DESKBOT_CHANNELS__QUEUE` → `["channels", "queue"]`.
fn env_key(var: &str) -> Option<Vec<String>> {
    let rest = var.strip_prefix("DESKBOT_")?;
    if rest.is_empty() {
        return None;
    }
    Some(rest.split("__").map(|p| p.to_ascii_lowercase()).collect())
}

fn parse_env_value(v: &str) -> toml::Value {
    // Numbers and booleans as such; anything else (including URLs) as a string.
    if let Ok(i) = v.parse::<i64>() {
        return toml::Value::Integer(i);
    }
    if let Ok(f) = v.parse::<f64>() {
        return toml::Value::Float(f);
    }
    match v {
        "true" => toml::Value::Boolean(true),
        "false" => toml::Value::Boolean(false),
        _ => toml::Value::String(v.to_string()),
    }
}

fn set_path(t: &mut toml::Table, path: &[String], v: toml::Value) {
    let (last, parents) = path.split_last().expect("non-empty path");
    let mut cur = t;
    for p in parents {
        let entry = cur.entry(p.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        cur = entry.as_table_mut().expect("just made a table");
    }
    cur.insert(last.clone(), v);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_default_equals_built_in_default() {
        let c = Config::from_parts("default", DEFAULT_TOML, &[]).unwrap();
        assert_eq!(c, Config::default());
    }

    #[test]
    fn unknown_key_is_named() {
        let e = Config::from_parts("deskbot.toml", "[channels]\nqueu = \"x\"\n", &[]).unwrap_err();
        assert!(e.0.contains("deskbot.toml") && e.0.contains("queu"), "{e}");
    }

    #[test]
    fn wrong_type_is_named_with_its_path() {
        let e = Config::from_parts("deskbot.toml", "[triage]\nconfident = \"high\"\n", &[]).unwrap_err();
        assert!(e.0.contains("triage.confident"), "{e}");
    }

    #[test]
    fn env_overrides_file_and_bad_env_names_the_variable() {
        let env = vec![("DESKBOT_CHANNELS__QUEUE".to_string(), "it-queue".to_string())];
        let c = Config::from_parts("f", "[channels]\nqueue = \"q\"\n", &env).unwrap();
        assert_eq!(c.channels.queue, "it-queue");
        let env = vec![("DESKBOT_TRIAGE__CONFIDENT".to_string(), "lots".to_string())];
        let e = Config::from_parts("f", "", &env).unwrap_err();
        assert!(e.0.contains("DESKBOT_TRIAGE__CONFIDENT") && e.0.contains("triage.confident"), "{e}");
    }

    #[test]
    fn variables_that_are_not_config_keys_are_left_alone() {
        let env = vec![
            ("DESKBOT_CONFIG".to_string(), "x.toml".to_string()),
            ("DESKBOT_LISTEN".to_string(), "127.0.0.1:9".to_string()),
            ("DESKBOT_HTTP_CALLBACK_URL".to_string(), "http://127.0.0.1:9/".to_string()),
            ("DESKBOT_TIMEZONE".to_string(), "Europe/London".to_string()),
        ];
        let c = Config::from_parts("f", "", &env).unwrap();
        assert_eq!(c.timezone, "Europe/London");
    }

    #[test]
    fn secrets_in_file_are_refused() {
        let e = Config::from_parts("f", "slack_bot_token = \"xoxb-1\"\n", &[]).unwrap_err();
        assert!(e.0.contains("environment variables only"), "{e}");
        assert!(!e.0.contains("xoxb-1"), "the secret itself is not echoed");
        // A known secret names the variable to use instead.
        for (toml, var) in [
            ("[slack]\nbot_token = \"xoxb-1\"\n", "SLACK_BOT_TOKEN"),
            ("[slack]\nsigning_secret = \"abc\"\n", "SLACK_SIGNING_SECRET"),
            ("[smtp]\npassword = \"pw\"\n", "DESKBOT_SMTP_PASSWORD"),
        ] {
            let e = Config::from_parts("f", toml, &[]).unwrap_err();
            assert!(e.0.contains(&format!("set {var} in the environment instead")), "{e}");
        }
        // #27 probe B, D3: a database password is a secret too; the environment may carry one.
        for url in ["postgres://u:s3cret@db/x", "postgres://u@db/x?password=s3cret"] {
            let e = Config::from_parts("f", &format!("database_url = \"{url}\"\n"), &[]).unwrap_err();
            assert!(e.0.starts_with("f: key `database_url` holds a password"), "{e}");
            assert!(e.0.contains("set DESKBOT_DATABASE_URL in the environment instead"), "{e}");
            assert!(!e.0.contains("s3cret"), "{e}");
        }
        let env = [("DESKBOT_DATABASE_URL".to_string(), "postgres://u:s3cret@db/x".to_string())];
        assert_eq!(Config::from_parts("f", "", &env).unwrap().database_url, "postgres://u:s3cret@db/x");
        assert!(Config::from_parts("f", "database_url = \"postgres://u@db/x\"\n", &[]).is_ok());
        // The pointer names a section the README has.
        let e = Config::from_parts("f", "[slack]\nwebhook_token = \"x\"\n", &[]).unwrap_err();
        assert!(e.0.contains("(README, Configuration)"), "{e}");
    }

    #[test]
    fn calendars_are_validated_and_usable_by_policies() {
        let toml = "[calendars.office]\ntimezone = \"Europe/London\"\nmon = [\"09:00-17:00\"]\n\n[[sla.policy]]\nname = \"all\"\nfirst_response = \"1h\"\nresolution = \"1d\"\ncalendar = \"office\"\n";
        let c = Config::from_parts("f", toml, &[]).unwrap();
        assert!(c.policies().is_ok());
        let bad = toml.replace("09:00-17:00", "17:00-09:00");
        let e = Config::from_parts("f", &bad, &[]).unwrap_err();
        assert!(e.0.contains("calendars.office.mon"), "{e}");
        let e =
            Config::from_parts("f", &toml.replace("calendar = \"office\"", "calendar = \"shop\""), &[]).unwrap_err();
        assert!(e.0.contains("unknown calendar `shop`"), "{e}");
        // #27 probe B, D14: a calendar problem that several settings run into is reported once.
        assert!(!e.0.contains("problems"), "{e}");
        let e = Config::from_parts("f", &bad, &[]).unwrap_err();
        assert_eq!(e.0.matches("calendars.office.mon").count(), 1, "{e}");
    }

    /// #27 probe B, D13: `config check` refuses a database URL neither backend takes, as `serve` would.
    #[test]
    fn an_unsupported_database_url_is_refused() {
        for url in ["mysql://u@db/x", "postgress://u@db/x", "deskbot.db"] {
            let e = Config::from_parts("f", &format!("database_url = \"{url}\"\n"), &[]).unwrap_err();
            assert!(e.0.contains("key `database_url`: unsupported URL"), "{e}");
            assert!(e.0.contains("use sqlite://FILE or postgres://USER@HOST/DB"), "{e}");
        }
        let env = [("DESKBOT_DATABASE_URL".to_string(), "mysql://u:s3cret@db/x".to_string())];
        let e = Config::from_parts("f", "", &env).unwrap_err();
        assert!(e.0.contains("mysql://u:***@db/x") && !e.0.contains("s3cret"), "{e}");
        for url in ["sqlite://deskbot.db", "sqlite::memory:", "postgresql://u@db/x"] {
            assert!(Config::from_parts("f", &format!("database_url = \"{url}\"\n"), &[]).is_ok(), "{url}");
        }
    }

    #[test]
    fn bad_values_are_named() {
        assert!(Config::from_parts("f", "timezone = \"Mars/Base\"\n", &[]).unwrap_err().0.contains("timezone"));
        let e = Config::from_parts("f", "[roles.skype]\nx = \"technician\"\n", &[]).unwrap_err();
        assert!(e.0.contains("roles.skype"), "{e}");
        let e = Config::from_parts("f", "[roles.console]\nsam = \"wizard\"\n", &[]).unwrap_err();
        assert!(e.0.contains("roles.console.sam"), "{e}");
    }
}
