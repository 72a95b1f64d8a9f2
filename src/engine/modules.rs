//! `import "name"` resolution: a module beside the runbook first, then `PCHAT_STDLIB` (a folder)
//! if set, then the stdlib modules embedded in the binary. Module files are read through the file
//! rules: a confined runbook cannot `import "../../etc/x"`.

use std::path::{Path, PathBuf};
use std::rc::Rc;

use rhai::module_resolvers::ModuleResolversCollection;
use rhai::{Engine, EvalAltResult, Module, ModuleResolver, Position, Shared};

use crate::files::{Confinement, ErrorKind, Guard};

/// The largest module file: 16 MiB, as for a runbook.
const MAX_MODULE_BYTES: u64 = 16 << 20;

/// `.rhai` files under a folder, read through the guard.
struct Folder {
    base: PathBuf,
    confinement: Option<Rc<Confinement>>,
}

impl ModuleResolver for Folder {
    fn resolve(
        &self,
        engine: &Engine,
        _source: Option<&str>,
        path: &str,
        pos: Position,
    ) -> Result<Shared<Module>, Box<EvalAltResult>> {
        let mut file = if Path::new(path).is_absolute() { PathBuf::from(path) } else { self.base.join(path) };
        file.set_extension("rhai");
        let in_module = |e: Box<EvalAltResult>| Box::new(EvalAltResult::ErrorInModule(path.to_string(), e, pos));
        let code = match Guard::new(self.confinement.clone(), &[]).read_text(&file, MAX_MODULE_BYTES) {
            Ok(code) => code,
            Err(e) if e.kind == ErrorKind::Io && !file.exists() => {
                return Err(EvalAltResult::ErrorModuleNotFound(path.to_string(), pos).into());
            }
            Err(e) => return Err(in_module(EvalAltResult::ErrorRuntime(format!("import: {e}").into(), pos).into())),
        };
        let mut ast = engine.compile(code).map_err(|e| in_module(e.into()))?;
        ast.set_source(file.to_string_lossy().to_string());
        let module = Module::eval_ast_as_new(rhai::Scope::new(), &ast, engine).map_err(in_module)?;
        Ok(module.into())
    }
}

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

/// `confinement`: the run's (modules beside the runbook are files it names); the administrator's
/// own `PCHAT_STDLIB` folder is not confined.
pub fn resolver(script_dir: Option<PathBuf>, confinement: Option<Rc<Confinement>>) -> ModuleResolversCollection {
    let mut all = ModuleResolversCollection::new();
    let beside = script_dir.filter(|d| !d.as_os_str().is_empty()).unwrap_or_else(|| PathBuf::from("."));
    all.push(Folder { base: beside, confinement });
    if let Some(dir) = std::env::var_os("PCHAT_STDLIB") {
        all.push(Folder { base: PathBuf::from(dir), confinement: None });
    }
    all.push(EmbeddedStdlib);
    all
}
