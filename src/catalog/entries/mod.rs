//! The catalog entries: one `pub const` [`Cmdlet`] per cmdlet, grouped by handler family (noun), collected
//! into [`ALL`]: the product's 40 cmdlets in the order of docs/cmdlets.md, followed by the pchat
//! extensions (marked "pchat extension" in help).

use super::Cmdlet;

pub mod addin;
pub mod audit;
pub mod category;
pub mod compliance;
pub mod configuration;
pub mod data;
pub mod directory;
pub mod eligibility;
pub mod endpoint;
pub mod message;
pub mod message_test;
pub mod policy;
pub mod room;
pub mod runbook;
pub mod state;
pub mod topology;

/// Every cmdlet: the 40 of the reference in its order, then the extensions.
pub static ALL: &[Cmdlet] = &[
    // 2.1 Topology and directory
    topology::GET_CS_SERVICE,
    directory::GET_CS_AD_PRINCIPAL,
    directory::GET_CS_ADMIN_ROLE,
    // 2.2 Pool state and active servers
    state::GET_CS_PERSISTENT_CHAT_STATE,
    state::SET_CS_PERSISTENT_CHAT_STATE,
    state::SET_CS_PERSISTENT_CHAT_ACTIVE_SERVER,
    // 2.3 Configuration
    configuration::GET_CS_PERSISTENT_CHAT_CONFIGURATION,
    configuration::NEW_CS_PERSISTENT_CHAT_CONFIGURATION,
    configuration::SET_CS_PERSISTENT_CHAT_CONFIGURATION,
    configuration::REMOVE_CS_PERSISTENT_CHAT_CONFIGURATION,
    // 2.4 Compliance
    compliance::GET_CS_PERSISTENT_CHAT_COMPLIANCE_CONFIGURATION,
    compliance::NEW_CS_PERSISTENT_CHAT_COMPLIANCE_CONFIGURATION,
    compliance::SET_CS_PERSISTENT_CHAT_COMPLIANCE_CONFIGURATION,
    compliance::REMOVE_CS_PERSISTENT_CHAT_COMPLIANCE_CONFIGURATION,
    // 2.5 Policies
    policy::GET_CS_PERSISTENT_CHAT_POLICY,
    policy::NEW_CS_PERSISTENT_CHAT_POLICY,
    policy::SET_CS_PERSISTENT_CHAT_POLICY,
    policy::REMOVE_CS_PERSISTENT_CHAT_POLICY,
    policy::GRANT_CS_PERSISTENT_CHAT_POLICY,
    // 2.6 Categories
    category::GET_CS_PERSISTENT_CHAT_CATEGORY,
    category::NEW_CS_PERSISTENT_CHAT_CATEGORY,
    category::SET_CS_PERSISTENT_CHAT_CATEGORY,
    category::REMOVE_CS_PERSISTENT_CHAT_CATEGORY,
    // 2.7 Rooms and their content
    room::GET_CS_PERSISTENT_CHAT_ROOM,
    room::NEW_CS_PERSISTENT_CHAT_ROOM,
    room::SET_CS_PERSISTENT_CHAT_ROOM,
    room::REMOVE_CS_PERSISTENT_CHAT_ROOM,
    room::CLEAR_CS_PERSISTENT_CHAT_ROOM,
    message::REMOVE_CS_PERSISTENT_CHAT_MESSAGE,
    // 2.8 Add-ins
    addin::GET_CS_PERSISTENT_CHAT_ADDIN,
    addin::NEW_CS_PERSISTENT_CHAT_ADDIN,
    addin::SET_CS_PERSISTENT_CHAT_ADDIN,
    addin::REMOVE_CS_PERSISTENT_CHAT_ADDIN,
    // 2.9 Endpoints
    endpoint::GET_CS_PERSISTENT_CHAT_ENDPOINT,
    endpoint::NEW_CS_PERSISTENT_CHAT_ENDPOINT,
    endpoint::REMOVE_CS_PERSISTENT_CHAT_ENDPOINT,
    // 2.10 Eligible principals
    eligibility::GET_CS_PERSISTENT_CHAT_ELIGIBLE_PRINCIPAL,
    // 2.11 Data export and import
    data::EXPORT_CS_PERSISTENT_CHAT_DATA,
    data::IMPORT_CS_PERSISTENT_CHAT_DATA,
    // 2.12 Synthetic test
    message_test::TEST_CS_PERSISTENT_CHAT_MESSAGE,
    // Extensions
    topology::PUBLISH_CS_TOPOLOGY,
    directory::IMPORT_CS_AD_PRINCIPAL,
    directory::REMOVE_CS_AD_PRINCIPAL,
    directory::GET_CS_USER,
    directory::GET_CREDENTIAL,
    configuration::GET_CS_EFFECTIVE_PERSISTENT_CHAT_CONFIGURATION,
    compliance::GET_CS_EFFECTIVE_PERSISTENT_CHAT_COMPLIANCE_CONFIGURATION,
    policy::GET_CS_EFFECTIVE_PERSISTENT_CHAT_POLICY,
    message::SEND_CS_PERSISTENT_CHAT_MESSAGE,
    message::GET_CS_PERSISTENT_CHAT_MESSAGE,
    state::REPAIR_CS_PERSISTENT_CHAT_DATABASE,
    runbook::GET_CS_PERSISTENT_CHAT_RUNBOOK_CONFIGURATION,
    runbook::SET_CS_PERSISTENT_CHAT_RUNBOOK_CONFIGURATION,
    topology::GET_CS_POOL,
    topology::GET_CS_COMPUTER,
    audit::GET_CS_PERSISTENT_CHAT_AUDIT_RECORD,
    audit::TEST_CS_PERSISTENT_CHAT_AUDIT_RECORD,
];
