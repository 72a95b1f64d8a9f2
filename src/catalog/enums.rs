//! Enumerations of the product, each naming its values once: the catalog's value lists, the
//! handlers, the store's columns and the archive's documents all use these names.

/// An enumeration whose values have fixed names (their canonical spelling in output).
pub trait Named: Copy + Eq + 'static {
    /// Every value, in the order help lists them.
    const ALL: &'static [Self];
    /// The names of [`Self::ALL`], in the same order (the catalog's value list).
    const NAMES: &'static [&'static str];

    fn name(self) -> &'static str;

    /// The value of a name, case-insensitively.
    fn parse(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.name().eq_ignore_ascii_case(name.trim()))
    }
}

macro_rules! named_enum {
    ($(#[$doc:meta])* $name:ident { $($value:ident),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($value),+
        }

        impl Named for $name {
            const ALL: &'static [Self] = &[$($name::$value),+];
            const NAMES: &'static [&'static str] = &[$(stringify!($value)),+];

            fn name(self) -> &'static str {
                Self::NAMES[self as usize]
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

named_enum! {
    /// Who can find and enter a chat room: anyone (Open), members only but listed for all (Closed),
    /// or members only and hidden from everyone else (Secret).
    Privacy { Open, Closed, Secret }
}

named_enum! {
    /// A Normal room lets every member post; in an Auditorium only presenters post.
    RoomType { Normal, Auditorium }
}

named_enum! {
    /// Whether a room sends invitations to its members: as its category says (Inherit), or never.
    Invitations { Inherit, False }
}

named_enum! {
    /// Which databases serve a Persistent Chat pool: its primary ones (Normal) or the backup ones
    /// of the topology (FailedOver).
    PoolState { Normal, FailedOver }
}

named_enum! {
    /// What kind of directory object a principal is.
    PrincipalKind { User, Group, Contact, OrganizationalUnit, Container, Domain }
}

impl PrincipalKind {
    /// Does a principal of this kind hold others by position in the tree (an OU, a container,
    /// the domain)?
    pub fn is_container(self) -> bool {
        matches!(self, PrincipalKind::OrganizationalUnit | PrincipalKind::Container | PrincipalKind::Domain)
    }
}

/// A principal spec starts as a user until its entry says otherwise.
impl Default for PrincipalKind {
    fn default() -> Self {
        PrincipalKind::User
    }
}

named_enum! {
    /// What Export-CsPersistentChatData writes (docs/formats.md lists the parts of each level).
    ExportLevel { All, User, Category, RoomDirectory, Content }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_in_any_case() {
        assert_eq!(Privacy::NAMES, ["Open", "Closed", "Secret"]);
        assert_eq!(Privacy::Secret.name(), "Secret");
        assert_eq!(Privacy::parse(" secret "), Some(Privacy::Secret));
        assert_eq!(Invitations::parse("FALSE"), Some(Invitations::False));
        assert_eq!(RoomType::parse("Lecture"), None);
        for level in ExportLevel::ALL {
            assert_eq!(ExportLevel::parse(level.name()), Some(*level));
        }
    }
}
