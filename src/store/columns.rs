//! The product's enumerations as SQL text columns, stored by their names.

use super::db::{self, FromValue, FromValueError, ToValue, ValueRef};

use crate::catalog::enums::{Invitations, Named, PoolState, PrincipalKind, Privacy, RoomType};

macro_rules! text_column {
    ($($t:ty),+) => {$(
        impl ToValue for $t {
            fn to_value(&self) -> db::Result<ValueRef<'_>> {
                Ok(ValueRef::Text(self.name().as_bytes()))
            }
        }

        impl FromValue for $t {
            fn from_value(value: ValueRef<'_>) -> Result<Self, FromValueError> {
                let text = value.as_str()?;
                <$t>::ALL.iter().copied().find(|v| v.name() == text).ok_or_else(|| {
                    FromValueError::Other(
                        format!("stored value '{text}' is not one of {}", <$t>::NAMES.join(", ")).into(),
                    )
                })
            }
        }
    )+};
}

text_column!(Privacy, RoomType, Invitations, PoolState, PrincipalKind);
