//! What the PowerShell front end adds to the file rules of `crate::files` (which every read and
//! write of Out-File, Set-Content, Add-Content, Export-Csv, Get-Content, Import-Csv and Test-Path
//! goes through, registered by the engine with the session's confinement): Windows-style relative
//! paths, and the encodings PowerShell writes.

/// `.\\report.csv` as scripts written on Windows name a file beside them.
pub fn local(path: &str) -> String {
    if path.starts_with(".\\") || path.starts_with("..\\") { path.replace('\\', "/") } else { path.to_string() }
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
        assert_eq!(local(".\\out\\r.csv"), "./out/r.csv");
    }
}
