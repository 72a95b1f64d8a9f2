//! Handlers grouped by noun; each is a plain function from bound arguments to result objects.
//! [`TABLE`] binds each catalog entry to its handler.

mod access;
mod addin;
mod audit;
mod category;
mod chat;
mod compliance;
mod configuration;
mod data;
mod described;
mod directory;
mod effective;
mod eligibility;
mod endpoint;
mod message;
mod message_test;
mod policy;
mod principals;
mod room;
mod runbook;
mod settings;
mod settings_identity;
mod state;
mod topology;

use crate::binder::Bound;
use crate::catalog::entries as e;
use crate::errors::{CmdletError, CmdletResult};
use crate::invocation::{Handler, Registration, Render, Table};
use crate::values::wildcard::Wildcard;

const fn on(cmdlet: &'static crate::catalog::Cmdlet, run: Handler) -> Registration {
    Registration { cmdlet, run }
}

/// Every catalog entry with the function that runs it, in catalog order; the CLI hands this table
/// to the engine, which registers exactly these. A test checks it against the catalog.
pub static TABLE: Table = Table {
    cmdlets: &[
        on(&e::topology::GET_CS_SERVICE, topology::get_service),
        on(&e::directory::GET_CS_AD_PRINCIPAL, principals::get_ad_principal),
        on(&e::directory::GET_CS_ADMIN_ROLE, principals::get_admin_role),
        on(&e::state::GET_CS_PERSISTENT_CHAT_STATE, state::get_state),
        on(&e::state::SET_CS_PERSISTENT_CHAT_STATE, state::set_state),
        on(&e::state::SET_CS_PERSISTENT_CHAT_ACTIVE_SERVER, state::set_active_server),
        on(&e::configuration::GET_CS_PERSISTENT_CHAT_CONFIGURATION, configuration::get),
        on(&e::configuration::NEW_CS_PERSISTENT_CHAT_CONFIGURATION, configuration::new),
        on(&e::configuration::SET_CS_PERSISTENT_CHAT_CONFIGURATION, configuration::set),
        on(&e::configuration::REMOVE_CS_PERSISTENT_CHAT_CONFIGURATION, configuration::remove),
        on(&e::compliance::GET_CS_PERSISTENT_CHAT_COMPLIANCE_CONFIGURATION, compliance::get),
        on(&e::compliance::NEW_CS_PERSISTENT_CHAT_COMPLIANCE_CONFIGURATION, compliance::new),
        on(&e::compliance::SET_CS_PERSISTENT_CHAT_COMPLIANCE_CONFIGURATION, compliance::set),
        on(&e::compliance::REMOVE_CS_PERSISTENT_CHAT_COMPLIANCE_CONFIGURATION, compliance::remove),
        on(&e::policy::GET_CS_PERSISTENT_CHAT_POLICY, policy::get),
        on(&e::policy::NEW_CS_PERSISTENT_CHAT_POLICY, policy::new),
        on(&e::policy::SET_CS_PERSISTENT_CHAT_POLICY, policy::set),
        on(&e::policy::REMOVE_CS_PERSISTENT_CHAT_POLICY, policy::remove),
        on(&e::policy::GRANT_CS_PERSISTENT_CHAT_POLICY, policy::grant),
        on(&e::category::GET_CS_PERSISTENT_CHAT_CATEGORY, category::get),
        on(&e::category::NEW_CS_PERSISTENT_CHAT_CATEGORY, category::new),
        on(&e::category::SET_CS_PERSISTENT_CHAT_CATEGORY, category::set),
        on(&e::category::REMOVE_CS_PERSISTENT_CHAT_CATEGORY, category::remove),
        on(&e::room::GET_CS_PERSISTENT_CHAT_ROOM, room::get),
        on(&e::room::NEW_CS_PERSISTENT_CHAT_ROOM, room::new),
        on(&e::room::SET_CS_PERSISTENT_CHAT_ROOM, room::set),
        on(&e::room::REMOVE_CS_PERSISTENT_CHAT_ROOM, room::remove),
        on(&e::room::CLEAR_CS_PERSISTENT_CHAT_ROOM, room::clear),
        on(&e::message::REMOVE_CS_PERSISTENT_CHAT_MESSAGE, message::remove),
        on(&e::addin::GET_CS_PERSISTENT_CHAT_ADDIN, addin::get),
        on(&e::addin::NEW_CS_PERSISTENT_CHAT_ADDIN, addin::new),
        on(&e::addin::SET_CS_PERSISTENT_CHAT_ADDIN, addin::set),
        on(&e::addin::REMOVE_CS_PERSISTENT_CHAT_ADDIN, addin::remove),
        on(&e::endpoint::GET_CS_PERSISTENT_CHAT_ENDPOINT, endpoint::get),
        on(&e::endpoint::NEW_CS_PERSISTENT_CHAT_ENDPOINT, endpoint::new),
        on(&e::endpoint::REMOVE_CS_PERSISTENT_CHAT_ENDPOINT, endpoint::remove),
        on(&e::eligibility::GET_CS_PERSISTENT_CHAT_ELIGIBLE_PRINCIPAL, eligibility::get),
        on(&e::data::EXPORT_CS_PERSISTENT_CHAT_DATA, data::export::export),
        on(&e::data::IMPORT_CS_PERSISTENT_CHAT_DATA, data::import::import),
        on(&e::message_test::TEST_CS_PERSISTENT_CHAT_MESSAGE, message_test::test),
        on(&e::topology::PUBLISH_CS_TOPOLOGY, topology::publish),
        on(&e::directory::IMPORT_CS_AD_PRINCIPAL, directory::import),
        on(&e::directory::REMOVE_CS_AD_PRINCIPAL, directory::remove),
        on(&e::directory::GET_CS_USER, principals::get_user),
        on(&e::directory::GET_CREDENTIAL, principals::get_credential),
        on(&e::configuration::GET_CS_EFFECTIVE_PERSISTENT_CHAT_CONFIGURATION, configuration::get_effective),
        on(&e::compliance::GET_CS_EFFECTIVE_PERSISTENT_CHAT_COMPLIANCE_CONFIGURATION, compliance::get_effective),
        on(&e::policy::GET_CS_EFFECTIVE_PERSISTENT_CHAT_POLICY, policy::get_effective),
        on(&e::message::SEND_CS_PERSISTENT_CHAT_MESSAGE, message::send),
        on(&e::message::GET_CS_PERSISTENT_CHAT_MESSAGE, message::get),
        on(&e::state::REPAIR_CS_PERSISTENT_CHAT_DATABASE, state::repair),
        on(&e::runbook::GET_CS_PERSISTENT_CHAT_RUNBOOK_CONFIGURATION, runbook::get),
        on(&e::runbook::SET_CS_PERSISTENT_CHAT_RUNBOOK_CONFIGURATION, runbook::set),
        on(&e::topology::GET_CS_POOL, topology::get_pool),
        on(&e::topology::GET_CS_COMPUTER, topology::get_computer),
        on(&e::audit::GET_CS_PERSISTENT_CHAT_AUDIT_RECORD, audit::get),
        on(&e::audit::TEST_CS_PERSISTENT_CHAT_AUDIT_RECORD, audit::test),
    ],
    // The log object of Test-CsPersistentChatMessage -OutLoggerVariable: `log.ToHTML()`, `log.ToXML()`.
    methods: &[
        ("ToHTML", message_test::log_html as Render),
        ("ToXML", message_test::log_xml),
        ("to_html", message_test::log_html),
        ("to_xml", message_test::log_xml),
    ],
};

/// `-ResultSize`: the first N in the standard order.
pub(crate) fn limit<T>(mut items: Vec<T>, b: &Bound) -> Vec<T> {
    if let Some(n) = b.int("ResultSize") {
        items.truncate(n.max(0) as usize);
    }
    items
}

/// The wildcard `-Filter` of Get cmdlets, compiled once per call.
pub(crate) fn wildcard_filter(b: &Bound) -> CmdletResult<Option<Wildcard>> {
    b.str("Filter").map(|f| Wildcard::new(f).map_err(|e| CmdletError::invalid(format!("-Filter: {e}")))).transpose()
}

/// "already has a <what> named …": the existing name, and the name asked for when it differs
/// (only in letter case: names are compared without it, so 'ÄRGER' is taken by 'Ärger').
pub(crate) fn name_taken(pool: &str, what: &str, existing: &str, wanted: &str) -> String {
    if existing == wanted {
        format!("pool '{pool}' already has {what} named '{existing}'")
    } else {
        format!(
            "pool '{pool}' already has {what} named '{existing}' ('{wanted}' differs from it only in letter case, and names are compared without it)"
        )
    }
}

#[cfg(test)]
mod tests {
    use crate::catalog;

    #[test]
    fn the_table_holds_every_catalog_entry_once_in_catalog_order() {
        let table: Vec<&str> = super::TABLE.cmdlets.iter().map(|r| r.cmdlet.name).collect();
        let catalog: Vec<&str> = catalog::all().iter().map(|c| c.name).collect();
        assert_eq!(table, catalog);
        for r in super::TABLE.cmdlets {
            let entry = catalog::find(r.cmdlet.name).expect("in the catalog");
            // The same entry, not one of the same name: its parameters and examples match.
            assert_eq!(r.cmdlet.params.len(), entry.params.len(), "{}", r.cmdlet.name);
            assert_eq!(r.cmdlet.examples.len(), entry.examples.len(), "{}", r.cmdlet.name);
        }
    }
}
