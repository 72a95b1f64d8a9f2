//! The cmdlet catalog: one declarative entry per cmdlet, the single source from which Rhai
//! registration, the binder, help text and REPL completion are derived. Nothing else restates a
//! parameter list.

pub mod descriptor;
pub mod entries;
pub mod enums;
mod properties;

use std::sync::LazyLock;

/// The value type a parameter accepts. The binder converts and validates into it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    /// Free text.
    String,
    /// `true`/`false`; a value is required (`Disabled: true`).
    Bool,
    /// Present/absent; `X: false` means absent.
    Switch,
    Int16,
    Int32,
    UInt32,
    /// 0..=2147483647 or the word `Unlimited`.
    Unlimited,
    /// Case-insensitive names; output uses the canonical spelling given here.
    Enum(&'static [&'static str]),
    /// `[d.]hh:mm[:ss[.fffffff]]`.
    TimeSpan,
    /// en-US `M/d/yyyy [time]` or ISO-8601.
    DateTime,
    /// DNS name (syntax checked).
    Fqdn,
    /// `sip:user@domain` (checked by the handler, whose errors the reference specifies).
    Sip,
    Guid,
    /// PSListModifier: `#{Add:.., Remove:.., Replace:..}`, a plain value or array (Replace), `()` clears.
    ListModifier,
    /// A list of strings (a single string is a one-element list).
    StringList,
    /// An object from `get_credential`, or a user name.
    Credential,
    /// A byte array (Rhai blob).
    Bytes,
    /// An object previously returned by a cmdlet.
    Object(ObjType),
    /// Expression filter or wildcard, given as a string.
    Filter,
    /// A file system path.
    Path,
}

impl Ty {
    /// The name shown in help syntax lines.
    pub fn display(&self) -> String {
        match self {
            Ty::String => "String".into(),
            Ty::Bool => "Boolean".into(),
            Ty::Switch => "Switch".into(),
            Ty::Int16 => "Int16".into(),
            Ty::Int32 => "Int32".into(),
            Ty::UInt32 => "UInt32".into(),
            Ty::Unlimited => "Unlimited".into(),
            Ty::Enum(values) => values.join(" | "),
            Ty::TimeSpan => "TimeSpan".into(),
            Ty::DateTime => "DateTime".into(),
            Ty::Fqdn => "Fqdn".into(),
            Ty::Sip => "SipAddress".into(),
            Ty::Guid => "Guid".into(),
            Ty::ListModifier => "ListModifier".into(),
            Ty::StringList => "String[]".into(),
            Ty::Credential => "Credential".into(),
            Ty::Bytes => "Byte[]".into(),
            Ty::Object(t) => t.type_name().into(),
            Ty::Filter => "Filter".into(),
            Ty::Path => "Path".into(),
        }
    }
}

/// Output object types. Objects carry their type as the Rhai `Dynamic` tag so a
/// piped object binds ByValue only to an `-Instance` of the right type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjType {
    ChatRoom = 1,
    Category,
    Addin,
    Configuration,
    ComplianceConfiguration,
    Policy,
    State,
    Endpoint,
    AdPrincipal,
    EligiblePrincipal,
    User,
    Role,
    Service,
    TaskOutput,
    Credential,
    Message,
    RunbookConfiguration,
    Pool,
    Computer,
    AuditRecord,
    AuditVerification,
}

impl ObjType {
    // Every type must fit in the five bits of a read tag (`read_tag`).
    pub const ALL: [ObjType; 21] = [
        ObjType::ChatRoom,
        ObjType::Category,
        ObjType::Addin,
        ObjType::Configuration,
        ObjType::ComplianceConfiguration,
        ObjType::Policy,
        ObjType::State,
        ObjType::Endpoint,
        ObjType::AdPrincipal,
        ObjType::EligiblePrincipal,
        ObjType::User,
        ObjType::Role,
        ObjType::Service,
        ObjType::TaskOutput,
        ObjType::Credential,
        ObjType::Message,
        ObjType::RunbookConfiguration,
        ObjType::Pool,
        ObjType::Computer,
        ObjType::AuditRecord,
        ObjType::AuditVerification,
    ];

    /// Type names as the product spells them.
    pub fn type_name(self) -> &'static str {
        match self {
            ObjType::ChatRoom => "ChatRoomObject",
            ObjType::Category => "CategoryObject",
            ObjType::Addin => "AddinObject",
            ObjType::Configuration => "PersistentChatConfiguration",
            ObjType::ComplianceConfiguration => "PersistentChatComplianceConfiguration",
            ObjType::Policy => "PersistentChatPolicy",
            ObjType::State => "PersistentChatState",
            ObjType::Endpoint => "OCSPersistentChatContact",
            ObjType::AdPrincipal => "OCSADPrincipal",
            ObjType::EligiblePrincipal => "ADPersistentChatPrincipal",
            ObjType::User => "OCSUserOrAppContact",
            ObjType::Role => "Role",
            ObjType::Service => "Service",
            ObjType::TaskOutput => "TaskOutput",
            ObjType::Credential => "PSCredential",
            ObjType::Message => "ChatMessage",
            ObjType::RunbookConfiguration => "PersistentChatRunbookConfiguration",
            ObjType::Pool => "Pool",
            ObjType::Computer => "Computer",
            ObjType::AuditRecord => "PersistentChatAuditRecord",
            ObjType::AuditVerification => "PersistentChatAuditVerification",
        }
    }

    /// Properties in the order of the product's output objects; display and JSON
    /// follow it. Principals and services may carry further properties after these.
    pub fn properties(self) -> &'static [&'static str] {
        match self {
            // Stored objects: their descriptor's order.
            ObjType::ChatRoom => {
                static NAMES: LazyLock<Vec<&str>> = LazyLock::new(|| descriptor::ROOM.names());
                &NAMES
            }
            ObjType::Category => {
                static NAMES: LazyLock<Vec<&str>> = LazyLock::new(|| descriptor::CATEGORY.names());
                &NAMES
            }
            ObjType::Addin => {
                static NAMES: LazyLock<Vec<&str>> = LazyLock::new(|| descriptor::ADDIN.names());
                &NAMES
            }
            ObjType::Configuration => {
                &["Identity", "DefaultChatHistory", "MaxFileSizeKB", "ParticipantUpdateLimit", "RoomManagementUrl"]
            }
            ObjType::ComplianceConfiguration => &[
                "Identity",
                "AdapterName",
                "AdapterOutputDirectory",
                "AdapterType",
                "AddChatRoomDetails",
                "AddUserDetails",
                "CreateFileAttachmentsManifest",
                "CustomConfiguration",
                "OneChatRoomPerOutputFile",
                "RunInterval",
            ],
            ObjType::Policy => &["Identity", "Description", "EnablePersistentChat", "TenantId"],
            ObjType::State => &[
                "Identity",
                "PoolState",
                "ActiveServers",
                "Servers",
                "PrimaryDatabase",
                "BackupDatabase",
                "ServingDatabase",
                "InSync",
                "PrimaryStatus",
                "BackupStatus",
                "Generation",
                "Change",
            ],
            ObjType::Endpoint => {
                static NAMES: LazyLock<Vec<&str>> = LazyLock::new(|| descriptor::ENDPOINT.names());
                &NAMES
            }
            ObjType::AdPrincipal => &[
                "Identity",
                "DistinguishedName",
                "Name",
                "DisplayName",
                "ObjectClass",
                "SipAddress",
                "SamAccountName",
                "UserPrincipalName",
            ],
            ObjType::EligiblePrincipal => &["Identity", "PersistentChatPrincipalType", "SipAddress", "DisplayName"],
            ObjType::User => &[
                "Identity",
                "DisplayName",
                "SipAddress",
                "SamAccountName",
                "UserPrincipalName",
                "Department",
                "RegistrarPool",
                "SiteId",
                "PersistentChatPolicy",
                "EnterpriseVoiceEnabled",
                "LineURI",
            ],
            ObjType::Role => &["Identity", "Sid", "Cmdlets", "UserScopes", "IsStandardRole", "ConfigScopes"],
            ObjType::Service => &["Identity", "Role", "SiteId", "PoolFqdn", "Version", "DependentServiceList"],
            ObjType::TaskOutput => &["TargetFqdn", "Result", "Latency", "Error", "Diagnosis"],
            ObjType::Credential => &["UserName", "Password"],
            ObjType::Message => &["MessageId", "Room", "Sender", "PostedAt", "Text", "Replaced"],
            ObjType::RunbookConfiguration => &["Identity", "AllowedFolders"],
            ObjType::Pool => &["Identity", "Fqdn", "Site", "Services", "Computers"],
            ObjType::Computer => &["Identity", "Pool", "Fqdn"],
            ObjType::AuditRecord => {
                &["Sequence", "Time", "Actor", "Cmdlet", "Target", "Parameters", "Before", "After", "Source"]
            }
            ObjType::AuditVerification => {
                &["Result", "RecordsChecked", "FirstBadSequence", "Reason", "LastSequence", "LastHash"]
            }
        }
    }

    /// The `Dynamic` tag that marks a map as an object of this type.
    pub fn tag(self) -> i32 {
        0x5C00 + self as i32
    }

    /// The tag of an object of this type that a Get read (`objects::AsRead`): bit 31 marks it
    /// (plain tags are small and positive), bits 26..=30 hold the type and the low 26 bits what
    /// `objects` keeps of the read.
    pub fn read_tag(self, low: u32) -> i32 {
        (Self::READ_MARK | ((self as u32) << Self::TYPE_SHIFT) | (low & Self::READ_LOW)) as i32
    }

    pub const READ_MARK: u32 = 1 << 31;
    const TYPE_SHIFT: u32 = 26;
    pub const READ_LOW: u32 = (1 << Self::TYPE_SHIFT) - 1;

    /// The type of a tagged object: a plain tag, or one a Get stamped.
    pub fn from_tag(tag: i32) -> Option<ObjType> {
        let bits = tag as u32;
        if bits & Self::READ_MARK != 0 {
            let index = (bits & !Self::READ_MARK) >> Self::TYPE_SHIFT;
            return ObjType::ALL.iter().copied().find(|t| *t as u32 == index);
        }
        ObjType::ALL.iter().copied().find(|t| t.tag() == tag)
    }
}

/// Inclusive validation range checked after type conversion; a value outside is `OutOfRange`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    Int(i64, i64),
    /// Time-span bounds in seconds.
    Span(i64, i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mandatory {
    No,
    /// Mandatory in every set the parameter belongs to.
    Always,
    /// Mandatory only in these sets.
    In(&'static [&'static str]),
}

#[derive(Debug, Clone, Copy)]
pub struct Param {
    pub name: &'static str,
    pub ty: Ty,
    /// Parameter sets the parameter belongs to; empty = every set.
    pub sets: &'static [&'static str],
    pub mandatory: Mandatory,
    /// Positional slot (0 = first positional argument).
    pub position: Option<u8>,
    pub aliases: &'static [&'static str],
    pub by_value: bool,
    pub by_property: bool,
    pub range: Option<Range>,
    /// A DateTime that closes a range: a date given without a time means the end of that day
    /// (23:59:59.999999), not its start (see `Bound::instant`).
    pub ends_range: bool,
    pub description: &'static str,
}

/// Start a parameter entry; chain the builder methods below.
pub const fn param(name: &'static str, ty: Ty, description: &'static str) -> Param {
    Param {
        name,
        ty,
        sets: &[],
        mandatory: Mandatory::No,
        position: None,
        aliases: &[],
        by_value: false,
        by_property: false,
        range: None,
        ends_range: false,
        description,
    }
}

impl Param {
    /// Does the parameter name a caller variable the cmdlet sets (Test-CsPersistentChatMessage
    /// -OutLoggerVariable / -OutVerboseVariable)? The PowerShell front end declares it.
    pub fn sets_variable(&self) -> bool {
        matches!(self.name, "OutLoggerVariable" | "OutVerboseVariable")
    }

    pub const fn sets(mut self, sets: &'static [&'static str]) -> Self {
        self.sets = sets;
        self
    }
    pub const fn mandatory(mut self) -> Self {
        self.mandatory = Mandatory::Always;
        self
    }
    pub const fn mandatory_in(mut self, sets: &'static [&'static str]) -> Self {
        self.mandatory = Mandatory::In(sets);
        self
    }
    pub const fn pos(mut self, position: u8) -> Self {
        self.position = Some(position);
        self
    }
    pub const fn aliases(mut self, aliases: &'static [&'static str]) -> Self {
        self.aliases = aliases;
        self
    }
    pub const fn by_value(mut self) -> Self {
        self.by_value = true;
        self
    }
    pub const fn by_property(mut self) -> Self {
        self.by_property = true;
        self
    }
    pub const fn range(mut self, min: i64, max: i64) -> Self {
        self.range = Some(Range::Int(min, max));
        self
    }
    /// A DateTime parameter that ends a range (see `ends_range`).
    pub const fn ends_range(mut self) -> Self {
        self.ends_range = true;
        self
    }
    /// Time-span range in seconds.
    pub const fn span_range(mut self, min_secs: i64, max_secs: i64) -> Self {
        self.range = Some(Range::Span(min_secs, max_secs));
        self
    }

    pub fn in_set(&self, set: &str) -> bool {
        self.sets.is_empty() || self.sets.contains(&set)
    }

    pub fn is_mandatory_in(&self, set: &str) -> bool {
        self.in_set(set)
            && match self.mandatory {
                Mandatory::No => false,
                Mandatory::Always => true,
                Mandatory::In(sets) => sets.contains(&set),
            }
    }
}

/// What a successful call returns (docs/command-line.md, "Returns").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// Always an array (Get cmdlets).
    Collection(ObjType),
    /// The object (New cmdlets).
    Object(ObjType),
    /// Nothing, or the affected object with `PassThru`.
    PassThru(ObjType),
    /// A byte array (Export `-AsBytes`), otherwise nothing.
    Bytes,
    Nothing,
}

/// Whether an example is expected to succeed or to fail with an error identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    Ok,
    Error(&'static str),
}

#[derive(Debug, Clone, Copy)]
pub struct Example {
    /// Rhai code (runs as a test against the demo store).
    pub code: &'static str,
    pub summary: &'static str,
    pub expect: Expect,
}

pub const fn example(code: &'static str, summary: &'static str) -> Example {
    Example { code, summary, expect: Expect::Ok }
}

pub const fn failing(code: &'static str, summary: &'static str, error_id: &'static str) -> Example {
    Example { code, summary, expect: Expect::Error(error_id) }
}

/// Handler families (one module of handlers per noun).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Noun {
    Topology,
    Directory,
    State,
    Configuration,
    Compliance,
    Policy,
    Category,
    Room,
    Addin,
    Endpoint,
    Eligibility,
    Data,
    Message,
    Runbook,
    Audit,
}

#[derive(Debug, Clone, Copy)]
pub struct Cmdlet {
    /// PowerShell name, e.g. `Get-CsPersistentChatRoom`.
    pub name: &'static str,
    pub noun: Noun,
    pub synopsis: &'static str,
    /// Declared parameter sets, default first; empty = one unnamed set.
    pub sets: &'static [&'static str],
    pub params: &'static [Param],
    /// Groups of parameters that may not be combined even within one set (→ AmbiguousParameterSet).
    pub exclusive: &'static [&'static [&'static str]],
    /// Accepts `WhatIf` and `Confirm` (added by the binder, not listed in `params`).
    pub should_process: bool,
    /// Prompts unless `Confirm: false`.
    pub confirm_by_default: bool,
    pub output: Output,
    pub examples: &'static [Example],
    /// Not part of the product: a pchat extension.
    pub extension: bool,
}

/// Name of the single set of a cmdlet that declares none.
pub const DEFAULT_SET: &str = "__AllParameterSets";

impl Cmdlet {
    pub fn set_names(&self) -> Vec<&'static str> {
        if self.sets.is_empty() { vec![DEFAULT_SET] } else { self.sets.to_vec() }
    }

    pub fn default_set(&self) -> &'static str {
        self.sets.first().copied().unwrap_or(DEFAULT_SET)
    }

    pub fn param(&self, name: &str) -> Option<&'static Param> {
        self.params.iter().find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// The Rhai function name: `Get-CsPersistentChatRoom` → `get_cs_persistent_chat_room`.
    pub fn rhai_name(&self) -> String {
        rhai_name(self.name)
    }

    pub fn verb(&self) -> &'static str {
        self.name.split('-').next().unwrap_or(self.name)
    }

    /// Get cmdlets and the audit check only read; everything else runs in a write transaction.
    pub fn is_read_only(&self) -> bool {
        self.verb() == "Get" || self.name == "Test-CsPersistentChatAuditRecord"
    }

    /// Does the cmdlet change directory principals (users, groups) or what applies to them: the
    /// directory cmdlets and those whose objects are users? The user scopes of roles restrict it.
    pub fn changes_principals(&self) -> bool {
        !self.is_read_only()
            && (self.noun == Noun::Directory
                || matches!(self.output, Output::PassThru(ObjType::User) | Output::Object(ObjType::User)))
    }
}

/// Snake-case a `Verb-Noun` cmdlet name: an underscore before each capital that starts a word,
/// keeping acronyms together (`CsAdPrincipal` → `cs_ad_principal`).
pub fn rhai_name(cmdlet: &str) -> String {
    let mut out = String::with_capacity(cmdlet.len() + 8);
    let chars: Vec<char> = cmdlet.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c == '-' {
            out.push('_');
            continue;
        }
        if c.is_ascii_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if prev != '-' && (prev.is_ascii_lowercase() || (prev.is_ascii_uppercase() && next_lower)) {
                out.push('_');
            }
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// Every cmdlet of the catalog, in reference order followed by the extensions.
pub fn all() -> &'static [Cmdlet] {
    entries::ALL
}

/// Find a cmdlet by PowerShell name or Rhai name, case-insensitively.
pub fn find(name: &str) -> Option<&'static Cmdlet> {
    let wanted = name.trim();
    all().iter().find(|c| c.name.eq_ignore_ascii_case(wanted) || c.rhai_name() == wanted.to_ascii_lowercase())
}

/// Common parameters accepted by every cmdlet. Only ErrorAction and Verbose have an
/// effect; the rest are accepted for compatibility with pasted PowerShell.
pub const COMMON_PARAMS: &[Param] = &[
    param(
        "ErrorAction",
        Ty::Enum(&["Continue", "Stop", "SilentlyContinue", "Ignore"]),
        "What to do with a non-terminating error: Continue (report and go on), Stop (make it terminating), SilentlyContinue (record only), Ignore.",
    )
    .aliases(&["ea"]),
    param("Verbose", Ty::Switch, "Print what the cmdlet does.").aliases(&["vb"]),
    param("Debug", Ty::Switch, "Accepted for compatibility; no effect.").aliases(&["db"]),
    param("ErrorVariable", Ty::String, "Accepted for compatibility; no effect.").aliases(&["ev"]),
    param("WarningAction", Ty::String, "Accepted for compatibility; no effect.").aliases(&["wa"]),
    param("WarningVariable", Ty::String, "Accepted for compatibility; no effect.").aliases(&["wv"]),
    param("InformationAction", Ty::String, "Accepted for compatibility; no effect.").aliases(&["infa"]),
    param("InformationVariable", Ty::String, "Accepted for compatibility; no effect.").aliases(&["iv"]),
    param("OutVariable", Ty::String, "Accepted for compatibility; no effect.").aliases(&["ov"]),
    param("OutBuffer", Ty::Int32, "Accepted for compatibility; no effect.").aliases(&["ob"]),
    param("PipelineVariable", Ty::String, "Accepted for compatibility; no effect.").aliases(&["pv"]),
];

/// `WhatIf` and `Confirm`, added to every cmdlet whose `should_process` is set.
pub const SHOULD_PROCESS_PARAMS: &[Param] = &[
    param("WhatIf", Ty::Switch, "Validate everything and show what would change, without changing anything.")
        .aliases(&["wi"]),
    param(
        "Confirm",
        Ty::Switch,
        "Ask before each change; `Confirm: false` suppresses prompts, including default ones.",
    )
    .aliases(&["cf"]),
];

#[cfg(test)]
mod tests;
