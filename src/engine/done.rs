//! What a statement has committed, object by object, so that a run stopped part-way (Ctrl-C,
//! SIGTERM) can say what stands. A change made inside an open transaction (the items of a piped
//! call, an atomic run or block) is pending until that transaction commits: a rollback takes it
//! back, as it takes the rows back.

#[derive(Debug, Default)]
pub struct Done {
    /// Cmdlet → objects committed, in the order the cmdlets first committed.
    committed: Vec<(&'static str, u64)>,
    /// One entry per object changed in the open transaction.
    pending: Vec<&'static str>,
    /// `pending.len()` where each open nested atomic block began.
    blocks: Vec<usize>,
}

impl Done {
    /// A new statement: nothing done yet.
    pub fn clear(&mut self) {
        *self = Done::default();
    }

    /// One object changed and committed on its own.
    pub fn committed(&mut self, cmdlet: &'static str) {
        match self.committed.iter_mut().find(|(c, _)| *c == cmdlet) {
            Some((_, n)) => *n += 1,
            None => self.committed.push((cmdlet, 1)),
        }
    }

    /// One object changed in the open transaction.
    pub fn pending(&mut self, cmdlet: &'static str) {
        self.pending.push(cmdlet);
    }

    /// The open transaction committed.
    pub fn commit_pending(&mut self) {
        for cmdlet in std::mem::take(&mut self.pending) {
            self.committed(cmdlet);
        }
        self.blocks.clear();
    }

    /// The open transaction rolled back.
    pub fn drop_pending(&mut self) {
        self.pending.clear();
        self.blocks.clear();
    }

    pub fn open_block(&mut self) {
        self.blocks.push(self.pending.len());
    }

    /// A nested block succeeded: its changes join the enclosing unit's.
    pub fn close_block(&mut self) {
        self.blocks.pop();
    }

    /// A nested block was undone.
    pub fn discard_block(&mut self) {
        if let Some(mark) = self.blocks.pop() {
            self.pending.truncate(mark);
        }
    }

    /// "3 changes (New-CsPersistentChatRoom 2, Set-CsPersistentChatRoom 1)", or "no change".
    pub fn summary(&self) -> String {
        let total: u64 = self.committed.iter().map(|(_, n)| n).sum();
        if total == 0 {
            return "no change".into();
        }
        let each: Vec<String> = self.committed.iter().map(|(c, n)| format!("{c} {}", thousands(*n))).collect();
        let noun = if total == 1 { "change" } else { "changes" };
        format!("{} {noun} ({})", thousands(total), each.join(", "))
    }
}

fn thousands(n: u64) -> String {
    crate::values::text::group_thousands(&n.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_committed_changes_are_counted() {
        let mut d = Done::default();
        assert_eq!(d.summary(), "no change");
        d.committed("New-CsPersistentChatRoom");
        d.pending("Set-CsPersistentChatRoom");
        d.drop_pending();
        assert_eq!(d.summary(), "1 change (New-CsPersistentChatRoom 1)");
        d.pending("Set-CsPersistentChatRoom");
        d.open_block();
        d.pending("Remove-CsPersistentChatRoom");
        d.discard_block();
        d.open_block();
        d.pending("New-CsPersistentChatRoom");
        d.close_block();
        d.commit_pending();
        assert_eq!(d.summary(), "3 changes (New-CsPersistentChatRoom 2, Set-CsPersistentChatRoom 1)");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(999), "999");
    }
}
