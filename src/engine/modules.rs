//! `import "name"` resolution: a module beside the runbook first, then `PCHAT_STDLIB` (a folder)
//! if set, then the stdlib modules embedded in the binary.

use std::path::PathBuf;

use rhai::module_resolvers::{FileModuleResolver, ModuleResolversCollection};
use rhai::{Engine, EvalAltResult, Module, ModuleResolver, Position, Shared};

include!(concat!(env!("OUT_DIR"), "/stdlib_modules.rs"));

/// Serves the embedded `stdlib/` modules, compiling each on first import.
struct EmbeddedStdlib;

impl ModuleResolver for EmbeddedStdlib {
    fn resolve(
        &self,
        engine: &Engine,
        _source: Option<&str>,
        path: &str,
        pos: Position,
    ) -> Result<Shared<Module>, Box<EvalAltResult>> {
        let name = path.trim_end_matches(".rhai");
        let Some((_, code)) = STDLIB.iter().find(|(n, _)| *n == name) else {
            return Err(EvalAltResult::ErrorModuleNotFound(path.to_string(), pos).into());
        };
        let mut ast = engine
            .compile(*code)
            .map_err(|e| Box::new(EvalAltResult::ErrorInModule(path.to_string(), Box::new(e.into()), pos)))?;
        ast.set_source(format!("stdlib/{name}.rhai"));
        let module = Module::eval_ast_as_new(rhai::Scope::new(), &ast, engine)
            .map_err(|e| Box::new(EvalAltResult::ErrorInModule(path.to_string(), e, pos)))?;
        Ok(module.into())
    }
}

pub fn resolver(script_dir: Option<PathBuf>) -> ModuleResolversCollection {
    let mut all = ModuleResolversCollection::new();
    let beside = script_dir.filter(|d| !d.as_os_str().is_empty()).unwrap_or_else(|| PathBuf::from("."));
    all.push(FileModuleResolver::new_with_path(beside));
    if let Some(dir) = std::env::var_os("PCHAT_STDLIB") {
        all.push(FileModuleResolver::new_with_path(PathBuf::from(dir)));
    }
    all.push(EmbeddedStdlib);
    all
}
