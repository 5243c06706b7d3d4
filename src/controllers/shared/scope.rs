//! Which rule of the desired state governs a function: explicit names first, then selectors in
//! file order; the first match wins. Pure, and shared by observe (to decide which functions to
//! read in detail) and the controllers.

use crate::model::{FunctionMatch, FunctionRule, Tags};

#[derive(Debug, Clone, Copy)]
pub enum RuleMatch<'a> {
    Rule(&'a FunctionRule),
    /// No rule applies: the function is out of scope.
    None,
    /// A tag selector might apply, but the function's tags are not known yet.
    NeedsTags,
}

/// Two matches are equal when they name the same rule (the same rule in the same list).
impl PartialEq for RuleMatch<'_> {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (RuleMatch::Rule(a), RuleMatch::Rule(b)) => std::ptr::eq(*a, *b),
            (RuleMatch::None, RuleMatch::None) | (RuleMatch::NeedsTags, RuleMatch::NeedsTags) => {
                true
            }
            _ => false,
        }
    }
}

fn prefix_matches(prefix: &Option<String>, name: &str) -> bool {
    prefix.as_deref().is_none_or(|p| name.starts_with(p))
}

/// The rule for `name`, given its tags when they are known.
pub fn rule_for<'a>(rules: &'a [FunctionRule], name: &str, tags: Option<&Tags>) -> RuleMatch<'a> {
    // Explicit names take precedence over every selector wherever they appear.
    if let Some(rule) = rules
        .iter()
        .find(|r| matches!(&r.matcher, FunctionMatch::Name(n) if n == name))
    {
        return RuleMatch::Rule(rule);
    }
    for rule in rules {
        let FunctionMatch::Selector {
            name_prefix,
            tags: wanted,
        } = &rule.matcher
        else {
            continue;
        };
        if !prefix_matches(name_prefix, name) {
            continue;
        }
        if wanted.is_empty() {
            return RuleMatch::Rule(rule);
        }
        match tags {
            None => return RuleMatch::NeedsTags,
            Some(have) if wanted.iter().all(|(k, v)| have.get(k) == Some(v)) => {
                return RuleMatch::Rule(rule);
            }
            Some(_) => {}
        }
    }
    RuleMatch::None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Tier;

    fn rule(matcher: FunctionMatch, tier: Tier) -> FunctionRule {
        FunctionRule {
            matcher,
            tier,
            settings: Default::default(),
        }
    }

    fn selector(prefix: Option<&str>, tags: &[(&str, &str)]) -> FunctionMatch {
        FunctionMatch::Selector {
            name_prefix: prefix.map(str::to_string),
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn explicit_names_beat_selectors_and_first_selector_wins() {
        let rules = vec![
            rule(selector(Some("app-"), &[]), Tier::Standard),
            rule(FunctionMatch::Name("app-api".into()), Tier::Critical),
            rule(selector(Some("app-"), &[]), Tier::Batch),
        ];
        let tier = |name: &str| match rule_for(&rules, name, None) {
            RuleMatch::Rule(r) => Some(r.tier),
            _ => None,
        };
        assert_eq!(tier("app-api"), Some(Tier::Critical));
        assert_eq!(tier("app-worker"), Some(Tier::Standard));
        assert_eq!(tier("other"), None);
    }

    #[test]
    fn tag_selectors_need_tags_and_match_all_of_them() {
        let rules = vec![rule(
            selector(Some("svc-"), &[("team", "ai"), ("env", "prod")]),
            Tier::Critical,
        )];
        assert_eq!(rule_for(&rules, "svc-a", None), RuleMatch::NeedsTags);
        assert_eq!(
            rule_for(&rules, "other", None),
            RuleMatch::None,
            "prefix rules it out without tags"
        );
        let both: Tags = [("team", "ai"), ("env", "prod"), ("x", "y")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let one: Tags = [("team", "ai")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert!(matches!(
            rule_for(&rules, "svc-a", Some(&both)),
            RuleMatch::Rule(_)
        ));
        assert_eq!(rule_for(&rules, "svc-a", Some(&one)), RuleMatch::None);
    }
}
