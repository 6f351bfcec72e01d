//! Case-insensitive LIKE for any script (SQLite's own LIKE folds ASCII only): `%` is any
//! run, `_` one character, `\` escapes the next character. Shared by the SQLite function
//! `rs_ilike` and by tests of the filter semantics.

/// Whether `value` matches `pattern`, ignoring case.
pub fn ilike(pattern: &str, value: &str) -> bool {
    let p: Vec<char> = pattern.chars().flat_map(char::to_lowercase).collect();
    let v: Vec<char> = value.chars().flat_map(char::to_lowercase).collect();
    matches(&p, &v)
}

/// Iterative wildcard matching with one backtrack point (linear in practice, no recursion).
fn matches(p: &[char], v: &[char]) -> bool {
    let (mut pi, mut vi) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while vi < v.len() {
        match p.get(pi) {
            Some('%') => {
                star = Some((pi, vi));
                pi += 1;
                continue;
            }
            Some('\\') if pi + 1 < p.len() && p[pi + 1] == v[vi] => {
                pi += 2;
                vi += 1;
                continue;
            }
            Some('_') => {
                pi += 1;
                vi += 1;
                continue;
            }
            Some(c) if *c != '\\' && *c == v[vi] => {
                pi += 1;
                vi += 1;
                continue;
            }
            _ => {}
        }
        match star {
            Some((sp, sv)) => {
                pi = sp + 1;
                vi = sv + 1;
                star = Some((sp, sv + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|c| *c == '%')
}

#[cfg(test)]
mod tests {
    use super::ilike;

    #[test]
    fn wildcards_and_case() {
        assert!(ilike("Iv%", "ivan"));
        assert!(ilike("%АН", "Иван"));
        assert!(ilike("и_ан", "ИВАН"));
        assert!(!ilike("iv", "ivan"));
        assert!(ilike("%", ""));
        assert!(ilike("a\\%b", "a%b"));
        assert!(!ilike("a\\%b", "axb"));
        assert!(ilike("%a%b%c%", "xxaxxbxxc"));
    }
}
