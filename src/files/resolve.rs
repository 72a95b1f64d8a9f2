//! Where a path really leads: `..` and every symbolic link resolved, also for a file that does not
//! exist yet (its existing ancestors are resolved, the rest is taken as written).

use std::io;
use std::path::{Component, Path, PathBuf};

/// How many symbolic links one path may pass through (the kernel's own limit is 40).
const MAX_LINKS: usize = 40;

/// The absolute, symlink-free form of `path`. Relative paths are taken from the current directory.
pub fn resolve(path: &Path) -> io::Result<PathBuf> {
    let mut links = 0;
    resolve_from(path, &mut links)
}

fn resolve_from(path: &Path, links: &mut usize) -> io::Result<PathBuf> {
    let absolute = if path.is_absolute() { path.to_path_buf() } else { std::env::current_dir()?.join(path) };
    let mut out = PathBuf::from("/");
    for component in absolute.components() {
        match component {
            Component::Prefix(p) => out = PathBuf::from(p.as_os_str()),
            Component::RootDir => out.push("/"),
            Component::CurDir => {}
            // `out` has no link in it, so its parent is the real parent.
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(name) => {
                out.push(name);
                match std::fs::symlink_metadata(&out) {
                    Ok(meta) if meta.file_type().is_symlink() => {
                        *links += 1;
                        if *links > MAX_LINKS {
                            return Err(io::Error::other("too many levels of symbolic links"));
                        }
                        let target = std::fs::read_link(&out)?;
                        out.pop();
                        let target = if target.is_absolute() { target } else { out.join(target) };
                        out = resolve_from(&target, links)?;
                    }
                    Ok(_) => {}
                    // A name that does not exist (yet) is taken as written.
                    Err(e) if e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ENOTDIR) => {}
                    Err(e) => return Err(e),
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn dots_and_links_are_resolved_also_below_missing_names() {
        let dir = tempfile::tempdir().unwrap();
        let root = resolve(dir.path()).unwrap();
        std::fs::create_dir(root.join("a")).unwrap();
        std::fs::create_dir(root.join("b")).unwrap();
        symlink(root.join("b"), root.join("a/to_b")).unwrap();
        symlink("../b/x.txt", root.join("a/rel")).unwrap();
        assert_eq!(resolve(&root.join("a/../b/./x")).unwrap(), root.join("b/x"));
        assert_eq!(resolve(&root.join("a/to_b/new.txt")).unwrap(), root.join("b/new.txt"));
        assert_eq!(resolve(&root.join("a/to_b/../a")).unwrap(), root.join("a"));
        // A dangling link leads where its target would be created.
        assert_eq!(resolve(&root.join("a/rel")).unwrap(), root.join("b/x.txt"));
        assert_eq!(resolve(&root.join("a/missing/../../b")).unwrap(), root.join("b"));
        symlink(root.join("loop"), root.join("loop")).unwrap();
        assert!(resolve(&root.join("loop")).is_err());
    }
}
