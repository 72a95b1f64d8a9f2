//! Compliance collections and the effective collection of a pool (extension).

use rhai::Dynamic;

use super::{effective, settings};
use crate::binder::Bound;
use crate::errors::CmdletResult;
use crate::invocation::Ctx;
use crate::store::settings::COMPLIANCE;

pub fn get(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    settings::get(ctx, b, &COMPLIANCE)
}

pub fn new(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    settings::new(ctx, b, &COMPLIANCE)
}

pub fn set(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    settings::set(ctx, b, &COMPLIANCE)
}

pub fn remove(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    settings::remove(ctx, b, &COMPLIANCE)
}

pub fn get_effective(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    effective::pool_settings(ctx, b, &COMPLIANCE)
}
