//! Identical warnings folded into one: 2,000 records with the same extra
//! column are one warning "the same in 1,999 more records: 2, 3, ...".

use std::collections::HashMap;

use moodlec::diagnostic::{Code, Diagnostic};

/// Record numbers kept per folded warning, to show where it repeats.
const FIRST_RECORDS: usize = 6;

/// Warnings alike: the first in full, how many, and the first records.
pub struct Fold {
    pub first: Diagnostic,
    pub count: u64,
    pub records: Vec<u64>,
}

/// What makes two warnings the same one: said of the same field in the
/// same words (help included: `did you mean "US"?` is not said of `XX`),
/// in the same file.
type Key = (Code, Option<String>, Option<String>, String, Option<String>);

fn key(diagnostic: &Diagnostic) -> Key {
    (
        diagnostic.code,
        diagnostic.file.clone(),
        diagnostic.field.clone(),
        diagnostic.message.clone(),
        diagnostic.help.clone(),
    )
}

/// The warnings of a command, folded, in the order first seen.
#[derive(Default)]
pub struct Folds {
    index: HashMap<Key, usize>,
    folds: Vec<Fold>,
}

impl Folds {
    pub fn len(&self) -> usize {
        self.folds.len()
    }

    /// Whether a warning like this one is held already.
    pub fn holds(&self, diagnostic: &Diagnostic) -> bool {
        self.index.contains_key(&key(diagnostic))
    }

    pub fn add(&mut self, diagnostic: Diagnostic) {
        let record = diagnostic.record;
        match self.index.get(&key(&diagnostic)) {
            Some(&at) => {
                let fold = &mut self.folds[at];
                fold.count += 1;
                if let Some(record) = record.filter(|_| fold.records.len() < FIRST_RECORDS) {
                    fold.records.push(record);
                }
            }
            None => {
                self.index.insert(key(&diagnostic), self.folds.len());
                self.folds.push(Fold {
                    first: diagnostic,
                    count: 1,
                    records: record.into_iter().collect(),
                });
            }
        }
    }

    /// Every fold, in the order first seen; none are kept.
    pub fn take(&mut self) -> Vec<Fold> {
        self.index.clear();
        std::mem::take(&mut self.folds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use moodlec::diagnostic::Severity;

    fn warning(record: u64, message: &str) -> Diagnostic {
        Diagnostic {
            record: Some(record),
            file: Some("staff.csv".to_owned()),
            field: Some("nickname".to_owned()),
            ..Diagnostic::new(Code::UnknownKey, Severity::Warning, message)
        }
    }

    #[test]
    fn identical_warnings_fold_with_a_count_and_the_first_records() {
        let mut folds = Folds::default();
        for record in 1..=2000 {
            folds.add(warning(record, "`nickname` is not a field"));
        }
        folds.add(warning(7, "another message"));
        let folds = folds.take();
        assert_eq!(folds.len(), 2);
        assert_eq!(folds[0].count, 2000);
        assert_eq!(folds[0].records, vec![1, 2, 3, 4, 5, 6]);
        assert_eq!(folds[0].first.record, Some(1));
        assert_eq!((folds[1].count, folds[1].records.clone()), (1, vec![7]));
    }
}
