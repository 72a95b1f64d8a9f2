//! The product's enumerations as SQL text columns, stored by their names.

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

use crate::catalog::enums::{Invitations, Named, PoolState, PrincipalKind, Privacy, RoomType};

macro_rules! text_column {
    ($($t:ty),+) => {$(
        impl ToSql for $t {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.name()))
            }
        }

        impl FromSql for $t {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                let text = value.as_str()?;
                <$t>::ALL.iter().copied().find(|v| v.name() == text).ok_or_else(|| {
                    FromSqlError::Other(
                        format!("stored value '{text}' is not one of {}", <$t>::NAMES.join(", ")).into(),
                    )
                })
            }
        }
    )+};
}

text_column!(Privacy, RoomType, Invitations, PoolState, PrincipalKind);
