//! What the PowerShell front end adds to the file rules of `crate::files` (which every read and
//! write of Out-File, Set-Content, Add-Content, Export-Csv, Get-Content, Import-Csv and Test-Path
//! goes through, registered by the engine with the session's confinement): Windows-style relative
//! paths (one translation for every path parameter, readers and writers alike), and the
//! encodings PowerShell writes.

/// A path as a script written on Windows gives it, as a path on this machine: `\` separates
/// folders (`.\rooms.csv`, `..\x`, `sub\x.zip`, `$PSScriptRoot\rooms.csv`). A drive path
/// (`C:\Logs\x.zip`, `C:/x`, `C:x`) or a network path (`\\server\share\x.csv`) names a place
/// that is not here: refused, with what to write instead. Every path parameter of the PowerShell
/// front end goes through this (the Rhai functions take their paths as written).
pub fn ps_path(path: &str) -> Result<String, String> {
    let name = path.rsplit(['\\', '/']).find(|n| !n.is_empty()).unwrap_or("file");
    let instead = format!(
        "give a path on this machine instead, such as ./{name} (relative to the current folder), \
         \"$PSScriptRoot/{name}\" (beside the script) or an absolute path such as /var/tmp/{name}"
    );
    let mut chars = path.chars();
    if let (Some(d), Some(':')) = (chars.next(), chars.next())
        && d.is_ascii_alphabetic()
    {
        return Err(format!("'{path}' is a Windows drive path ({d}:), which does not exist here; {instead}"));
    }
    if path.starts_with("\\\\") {
        return Err(format!(
            "'{path}' is a network (UNC) path, which pchat does not open; {instead} (a share mounted on \
             this machine has a path such as /mnt/share/{name})"
        ));
    }
    Ok(path.replace('\\', "/"))
}

/// A file's text: UTF-8 with or without a byte-order mark, or UTF-16 LE with its mark (Windows
/// PowerShell's default).
pub fn decode(bytes: Vec<u8>, path: &str, command: &str) -> Result<String, String> {
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return String::from_utf8(rest.to_vec()).map_err(|_| format!("{command}: '{path}' is not valid UTF-8"));
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        let units: Vec<u16> = rest.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
        return String::from_utf16(&units).map_err(|_| format!("{command}: '{path}' is not valid UTF-16"));
    }
    String::from_utf8(bytes).map_err(|_| format!("{command}: '{path}' is not valid UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_order_marks_and_utf16_are_read_as_powershell_writes_them() {
        assert_eq!(decode(b"\xEF\xBB\xBFa,b".to_vec(), "x", "Get-Content").unwrap(), "a,b");
        assert_eq!(decode(vec![0xFF, 0xFE, b'h', 0, b'i', 0], "x", "Get-Content").unwrap(), "hi");
        assert!(decode(vec![0xC3], "x", "Get-Content").unwrap_err().contains("not valid UTF-8"));
    }

    #[test]
    fn windows_paths_become_paths_here_and_drive_or_network_paths_are_refused() {
        for (written, here) in [
            (".\\rooms.csv", "./rooms.csv"),
            ("..\\out\\r.csv", "../out/r.csv"),
            ("sub\\x.zip", "sub/x.zip"),
            ("/tmp/scr\\rooms.csv", "/tmp/scr/rooms.csv"),
            ("rooms.csv", "rooms.csv"),
            ("./a b/é.csv", "./a b/é.csv"),
            ("", ""),
        ] {
            assert_eq!(ps_path(written).unwrap(), here, "{written}");
        }
        for (written, says) in [
            ("C:\\Logs\\PersistentChatData.zip", "Windows drive path (C:)"),
            ("c:/Logs/x.zip", "Windows drive path (c:)"),
            ("D:x.csv", "Windows drive path (D:)"),
            ("\\\\server\\share\\x.csv", "network (UNC) path"),
        ] {
            let e = ps_path(written).unwrap_err();
            assert!(e.contains(says) && e.contains(&format!("'{written}'")), "{written}: {e}");
            assert!(e.contains("give a path on this machine instead, such as ./"), "{e}");
        }
        assert!(ps_path("C:\\Logs\\PersistentChatData.zip").unwrap_err().contains("./PersistentChatData.zip"));
    }
}
