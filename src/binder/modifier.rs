//! PSListModifier semantics: lists behave as case-insensitive sets.

/// A list change: `$Null` clears; a non-empty Replace wins over Add/Remove (the binder refuses that
/// combination, so only internal callers rely on it); otherwise Remove then Add.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListModifier {
    pub clear: bool,
    pub replace: Vec<String>,
    pub add: Vec<String>,
    pub remove: Vec<String>,
    /// Replace was given with no entry (`#{Replace: []}`, `@{Replace=@()}`, a plain `[]`): it
    /// changes nothing, as PSListModifier's does, which a caller meaning to empty the list is
    /// told (`empty_replace_warning`).
    pub empty_replace: bool,
}

fn contains(list: &[String], item: &str) -> bool {
    list.iter().any(|x| x.eq_ignore_ascii_case(item))
}

fn push_unique(list: &mut Vec<String>, item: &str) {
    if !contains(list, item) {
        list.push(item.to_string());
    }
}

impl ListModifier {
    pub fn clear() -> Self {
        ListModifier { clear: true, ..Default::default() }
    }

    pub fn replace(items: Vec<String>) -> Self {
        ListModifier { empty_replace: items.is_empty(), replace: items, ..Default::default() }
    }

    /// The warning for an empty Replace, which removes nothing: `cmdlet`'s `param` of `target`,
    /// whose list held `entries` entries before the call.
    pub fn empty_replace_warning(&self, cmdlet: &str, param: &str, target: &str, entries: usize) -> Option<String> {
        (self.empty_replace && !self.clear).then(|| {
            format!(
                "{cmdlet}: -{param} of '{target}': the empty Replace removed none of its {entries} entr{} (an empty Replace changes nothing, as in PowerShell); to empty the list, give $null (() in Rhai)",
                if entries == 1 { "y" } else { "ies" }
            )
        })
    }

    /// The list after this modifier is applied to `current`.
    pub fn apply(&self, current: &[String]) -> Vec<String> {
        if self.clear {
            return Vec::new();
        }
        if !self.replace.is_empty() {
            let mut out = Vec::new();
            for item in &self.replace {
                push_unique(&mut out, item);
            }
            return out;
        }
        let mut out: Vec<String> = current.iter().filter(|x| !contains(&self.remove, x)).cloned().collect();
        for item in &self.add {
            push_unique(&mut out, item);
        }
        out
    }

    /// The entries this call adds (Add or Replace values), which are the ones validated (1.10 #10).
    pub fn added(&self, current: &[String]) -> Vec<String> {
        let after = self.apply(current);
        after.into_iter().filter(|x| !contains(current, x)).collect()
    }

    /// Entries named by this modifier (Add, Remove and Replace), for resolving display names.
    pub fn mentioned(&self) -> impl Iterator<Item = &String> {
        self.replace.iter().chain(&self.add).chain(&self.remove)
    }

    /// A copy with every entry passed through `f` (e.g. display name → SIP address).
    pub fn map_entries<E>(&self, mut f: impl FnMut(&str) -> Result<String, E>) -> Result<ListModifier, E> {
        let mut conv = |v: &Vec<String>| v.iter().map(|x| f(x)).collect::<Result<Vec<_>, E>>();
        Ok(ListModifier {
            clear: self.clear,
            replace: conv(&self.replace)?,
            add: conv(&self.add)?,
            remove: conv(&self.remove)?,
            empty_replace: self.empty_replace,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn add_skips_present_items_case_insensitively() {
        let m = ListModifier { add: v(&["B", "c"]), ..Default::default() };
        assert_eq!(m.apply(&v(&["a", "b"])), v(&["a", "b", "c"]));
        assert_eq!(m.added(&v(&["a", "b"])), v(&["c"]));
    }

    #[test]
    fn remove_then_add_and_absent_removals_ignored() {
        let m = ListModifier { add: v(&["x"]), remove: v(&["A", "zz"]), ..Default::default() };
        assert_eq!(m.apply(&v(&["a", "b"])), v(&["b", "x"]));
    }

    #[test]
    fn non_empty_replace_ignores_add_and_remove() {
        let m =
            ListModifier { replace: v(&["r1", "R1", "r2"]), add: v(&["x"]), remove: v(&["r2"]), ..Default::default() };
        assert_eq!(m.apply(&v(&["a"])), v(&["r1", "r2"]));
        assert_eq!(m.added(&v(&["r2"])), v(&["r1"]));
    }

    #[test]
    fn empty_replace_changes_nothing_and_null_clears() {
        let m = ListModifier { replace: vec![], ..Default::default() };
        assert_eq!(m.apply(&v(&["a"])), v(&["a"]));
        assert_eq!(ListModifier::clear().apply(&v(&["a"])), Vec::<String>::new());
    }

    #[test]
    fn an_empty_replace_is_warned_of_and_a_given_one_or_a_clear_is_not() {
        let said = ListModifier::replace(vec![]).empty_replace_warning("Set-X", "Members", "p\\R", 3).unwrap();
        assert!(said.contains("Set-X: -Members of 'p\\R': the empty Replace removed none of its 3 entries"), "{said}");
        assert!(said.contains("give $null"), "{said}");
        assert!(ListModifier::replace(v(&["a"])).empty_replace_warning("Set-X", "M", "t", 1).is_none());
        assert!(ListModifier::clear().empty_replace_warning("Set-X", "M", "t", 1).is_none());
        assert!(
            ListModifier { add: v(&["a"]), ..Default::default() }.empty_replace_warning("S", "M", "t", 1).is_none()
        );
    }
}
