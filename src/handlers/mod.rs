//! Handlers grouped by noun; each is a plain function from bound arguments to result objects.
//! A cmdlet is registered in the engine exactly when it has a handler here.

mod access;
mod addins;
mod categories;
mod chat;
mod compliance;
mod configuration;
mod data;
mod directory;
mod effective;
mod eligibility;
mod endpoint;
pub mod health;
mod messages;
mod policy;
mod principals;
mod rooms;
mod runbook;
mod scope;
mod settings;
mod state;
mod topology;

use rhai::Dynamic;

use crate::binder::Bound;
use crate::engine::context::Ctx;
use crate::errors::{CmdletError, CmdletResult};
use crate::values::wildcard::Wildcard;

pub type Handler = fn(&mut Ctx, &Bound) -> CmdletResult<Vec<Dynamic>>;

pub fn lookup(cmdlet: &str) -> Option<Handler> {
    Some(match cmdlet {
        "Get-CsService" => topology::get_service,
        "Publish-CsTopology" => topology::publish,
        "Get-CsAdPrincipal" => principals::get_ad_principal,
        "Get-CsUser" => principals::get_user,
        "Get-CsAdminRole" => principals::get_admin_role,
        "Get-Credential" => principals::get_credential,
        "Import-CsAdPrincipal" => directory::import,
        "Remove-CsAdPrincipal" => directory::remove,
        "Get-CsPersistentChatState" => state::get_state,
        "Set-CsPersistentChatState" => state::set_state,
        "Set-CsPersistentChatActiveServer" => state::set_active_server,
        "Get-CsPersistentChatCategory" => categories::get,
        "New-CsPersistentChatCategory" => categories::new,
        "Set-CsPersistentChatCategory" => categories::set,
        "Remove-CsPersistentChatCategory" => categories::remove,
        "Get-CsPersistentChatRoom" => rooms::get,
        "New-CsPersistentChatRoom" => rooms::new,
        "Set-CsPersistentChatRoom" => rooms::set,
        "Remove-CsPersistentChatRoom" => rooms::remove,
        "Get-CsPersistentChatAddin" => addins::get,
        "New-CsPersistentChatAddin" => addins::new,
        "Set-CsPersistentChatAddin" => addins::set,
        "Remove-CsPersistentChatAddin" => addins::remove,
        "Get-CsPersistentChatEligiblePrincipal" => eligibility::get,
        "Get-CsPersistentChatConfiguration" => configuration::get,
        "New-CsPersistentChatConfiguration" => configuration::new,
        "Set-CsPersistentChatConfiguration" => configuration::set,
        "Remove-CsPersistentChatConfiguration" => configuration::remove,
        "Get-CsEffectivePersistentChatConfiguration" => configuration::get_effective,
        "Get-CsPersistentChatComplianceConfiguration" => compliance::get,
        "New-CsPersistentChatComplianceConfiguration" => compliance::new,
        "Set-CsPersistentChatComplianceConfiguration" => compliance::set,
        "Remove-CsPersistentChatComplianceConfiguration" => compliance::remove,
        "Get-CsEffectivePersistentChatComplianceConfiguration" => compliance::get_effective,
        "Get-CsPersistentChatPolicy" => policy::get,
        "New-CsPersistentChatPolicy" => policy::new,
        "Set-CsPersistentChatPolicy" => policy::set,
        "Remove-CsPersistentChatPolicy" => policy::remove,
        "Grant-CsPersistentChatPolicy" => policy::grant,
        "Get-CsEffectivePersistentChatPolicy" => policy::get_effective,
        "Get-CsPersistentChatEndpoint" => endpoint::get,
        "New-CsPersistentChatEndpoint" => endpoint::new,
        "Remove-CsPersistentChatEndpoint" => endpoint::remove,
        "Test-CsPersistentChatMessage" => health::test,
        "Send-CsPersistentChatMessage" => messages::send,
        "Get-CsPersistentChatMessage" => messages::get,
        "Clear-CsPersistentChatRoom" => messages::clear,
        "Remove-CsPersistentChatMessage" => messages::remove,
        "Export-CsPersistentChatData" => data::export::export,
        "Import-CsPersistentChatData" => data::import::import,
        "Get-CsPersistentChatRunbookConfiguration" => runbook::get,
        "Set-CsPersistentChatRunbookConfiguration" => runbook::set,
        _ => return None,
    })
}

/// `-ResultSize`: the first N in the standard order (reference 1.6).
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

#[cfg(test)]
mod tests {
    use crate::catalog;

    #[test]
    fn the_foundation_cmdlets_have_handlers() {
        for name in [
            "Get-CsService",
            "Publish-CsTopology",
            "Get-CsAdPrincipal",
            "Get-CsUser",
            "Get-CsAdminRole",
            "Get-Credential",
            "Import-CsAdPrincipal",
            "Remove-CsAdPrincipal",
        ] {
            assert!(super::lookup(name).is_some(), "{name}");
            assert!(catalog::find(name).is_some(), "{name} missing from the catalog");
        }
    }
}
