//! Configuration collections and the effective collection of a pool (extension).

use rhai::Dynamic;

use super::{effective, settings};
use crate::binder::Bound;
use crate::errors::CmdletResult;
use crate::invocation::Ctx;
use crate::store::settings::CONFIGURATION;

pub fn get(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    settings::get(ctx, b, &CONFIGURATION)
}

pub fn new(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    settings::new(ctx, b, &CONFIGURATION)
}

pub fn set(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    settings::set(ctx, b, &CONFIGURATION)
}

pub fn remove(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    settings::remove(ctx, b, &CONFIGURATION)
}

pub fn get_effective(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    effective::pool_settings(ctx, b, &CONFIGURATION)
}
