//! Malformed configs never panic the loader: thousands of mutants of the shipped configs (bytes
//! cut, lines swapped or repeated, TOML punctuation sprinkled in, files cut short) each load or
//! give diagnostics, and every diagnostic names a position inside the file.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const MUTANTS_PER_FILE: usize = 2_000;
const NOISE: &[&str] = &[
    "[",
    "]",
    "[[",
    "]]",
    "\"",
    "'",
    "=",
    "#",
    "\n",
    ".",
    ",",
    "{",
    "}",
    "1e309",
    "-1",
    "nan",
    "\u{feff}",
    "é",
    "\t",
    "true",
    "\"\"\"",
    "0x",
    "[functions]",
    "[[functions]]",
    "a.b.c",
];

fn mutate(text: &str, rng: &mut StdRng) -> String {
    let mut s: Vec<char> = text.chars().collect();
    for _ in 0..rng.random_range(1..4) {
        let n = s.len().max(1);
        match rng.random_range(0..5) {
            0 => {
                let at = rng.random_range(0..n);
                let len = rng.random_range(1..40).min(s.len().saturating_sub(at));
                s.drain(at..at + len);
            }
            1 => {
                let at = rng.random_range(0..=s.len());
                let noise = NOISE[rng.random_range(0..NOISE.len())];
                s.splice(at..at, noise.chars());
            }
            2 => s.truncate(rng.random_range(0..n)),
            _ => {
                let text: String = s.iter().collect();
                let mut lines: Vec<&str> = text.lines().collect();
                if lines.len() > 2 {
                    let (a, b) = (
                        rng.random_range(0..lines.len()),
                        rng.random_range(0..lines.len()),
                    );
                    if rng.random_bool(0.5) {
                        lines.swap(a, b);
                    } else {
                        let line = lines[a];
                        lines.insert(b, line);
                    }
                }
                s = lines.join("\n").chars().collect();
            }
        }
    }
    s.into_iter().collect()
}

#[test]
fn thousands_of_malformed_configs_load_or_are_diagnosed_never_panic() {
    let mut rng = StdRng::seed_from_u64(0x7717_7ab5);
    let (mut valid, mut invalid) = (0, 0);
    for file in ["config/demo.toml", "config/example.toml"] {
        let text =
            std::fs::read_to_string(format!("{}/{file}", env!("CARGO_MANIFEST_DIR"))).expect(file);
        for _ in 0..MUTANTS_PER_FILE {
            let mutant = mutate(&text, &mut rng);
            match trimtab::config::parse(&mutant, "m.toml") {
                Ok(_) => valid += 1,
                Err(e) => {
                    invalid += 1;
                    let lines = mutant.lines().count().max(1) + 1;
                    for line in e.to_string().lines().filter(|l| l.starts_with("m.toml:")) {
                        let n: usize = line
                            .split(':')
                            .nth(1)
                            .and_then(|n| n.parse().ok())
                            .unwrap_or_else(|| panic!("no line number: {line}"));
                        assert!(n >= 1 && n <= lines, "line {n} of {lines}: {line}");
                    }
                }
            }
        }
    }
    assert!(
        invalid > MUTANTS_PER_FILE,
        "the mutants must mostly be broken"
    );
    eprintln!(
        "{} mutants: {valid} loaded, {invalid} diagnosed, 0 panics",
        valid + invalid
    );
}
