//! Which property names an object of a catalog type has, and the error for one it has not: a
//! misspelled property must never read as `$Null` and match (or miss) everything silently.

use super::ObjType;
use crate::values::text::{did_you_mean, suggest};

impl ObjType {
    /// pchat's own properties that some objects of the type carry after the reference's ones.
    pub fn extra_properties(self) -> &'static [&'static str] {
        match self {
            ObjType::Service => &[
                "Servers",
                "ActiveServers",
                "SqlInstanceName",
                "Registrar",
                "UserServer",
                "UserDatabase",
                "WebServer",
                "FileStore",
                "PersistentChatDatabase",
                "PersistentChatComplianceDatabase",
                "ArchivingDatabase",
                "MonitoringDatabase",
                "CentralManagementDatabase",
            ],
            // Groups list their members' DNs.
            ObjType::AdPrincipal => &["Members"],
            _ => &[],
        }
    }

    /// Directory principals also carry whatever attributes the directory file gave them (`l`,
    /// `Title`), so a name outside the list is only refused when it is close to a defined one.
    pub fn has_open_properties(self) -> bool {
        matches!(self, ObjType::AdPrincipal)
    }

    /// Is `name` (any case) a property of the type, or one of `also` (names present on the
    /// objects at hand, e.g. directory attributes)?
    pub fn has_property(self, name: &str, also: &[&str]) -> bool {
        self.properties().iter().chain(self.extra_properties()).chain(also).any(|p| p.eq_ignore_ascii_case(name))
    }

    /// `Err(message)` when `name` is not a property of the type: the message names the type and
    /// the property and suggests the closest name, or lists the valid ones.
    pub fn check_property(self, name: &str, also: &[&str]) -> Result<(), String> {
        if self.has_property(name, also) {
            return Ok(());
        }
        let defined: Vec<&str> = self.properties().iter().chain(self.extra_properties()).copied().collect();
        if self.has_open_properties() && suggest(name, defined.iter().copied()).is_none() {
            return Ok(());
        }
        // `also` is usually the keys of the objects at hand, which repeat the defined names.
        let mut candidates = defined;
        for name in also {
            if !candidates.iter().any(|c| c.eq_ignore_ascii_case(name)) {
                candidates.push(name);
            }
        }
        Err(format!("{} has no property '{name}'{}", self.type_name(), did_you_mean(name, &candidates, "properties")))
    }
}

#[cfg(test)]
mod tests {
    use super::ObjType;

    #[test]
    fn unknown_properties_are_named_with_a_suggestion() {
        assert!(ObjType::ChatRoom.check_property("disabled", &[]).is_ok());
        let e = ObjType::ChatRoom.check_property("Disabld", &[]).unwrap_err();
        assert_eq!(e, "ChatRoomObject has no property 'Disabld'; did you mean 'Disabled'?");
        let e = ObjType::Policy.check_property("Zzzzzzzzzzzz", &[]).unwrap_err();
        assert!(e.ends_with("valid properties: Identity, Description, EnablePersistentChat, TenantId"), "{e}");
        // The keys of the objects at hand name each property once in the list.
        let keys = ["identity", "Description", "EnablePersistentChat", "TenantId", "Extra"];
        let e = ObjType::Policy.check_property("Zzzzzzzzzzzz", &keys).unwrap_err();
        assert!(e.ends_with("valid properties: Identity, Description, EnablePersistentChat, TenantId, Extra"), "{e}");
        assert!(ObjType::Service.check_property("ActiveServers", &[]).is_ok());
        // Directory attributes: any name goes, except a near miss of a defined one.
        assert!(ObjType::AdPrincipal.check_property("l", &[]).is_ok());
        assert!(ObjType::AdPrincipal.check_property("SipAdress", &[]).is_err());
        assert!(ObjType::AdPrincipal.check_property("Titel", &["Title"]).is_ok());
    }
}
