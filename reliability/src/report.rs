//! A scenario's result: figures, violated promises, a JSON line and a human summary.

use std::io::Write as _;
use std::path::Path;

use anyhow::{Context as _, Result};
use serde::Serialize;
use serde_json::{Map, Value};

/// How many violations are listed by name (all are counted).
const LISTED: usize = 20;

/// The result of one scenario run.
pub(crate) struct Report {
    scenario: String,
    figures: Map<String, Value>,
    violations: Vec<String>,
    lines: Vec<String>,
}

impl Report {
    /// An empty report for `scenario`.
    pub(crate) fn new(scenario: &str) -> Self {
        Self {
            scenario: scenario.to_owned(),
            figures: Map::new(),
            violations: Vec::new(),
            lines: Vec::new(),
        }
    }

    /// Sets a figure of the JSON line.
    pub(crate) fn figure(&mut self, key: &str, value: impl Serialize) {
        let value = serde_json::to_value(value).unwrap_or(Value::Null);
        let _previous = self.figures.insert(key.to_owned(), value);
    }

    /// Records a violated promise.
    pub(crate) fn violation(&mut self, what: impl Into<String>) {
        self.violations.push(what.into());
    }

    /// Checks `holds`; records `what` as violated when it does not.
    pub(crate) fn check(&mut self, holds: bool, what: impl Into<String>) {
        if !holds {
            self.violation(what);
        }
    }

    /// Adds a line of the human summary.
    pub(crate) fn line(&mut self, text: impl Into<String>) {
        self.lines.push(text.into());
    }

    /// Whether every promise held.
    pub(crate) fn passed(&self) -> bool {
        self.violations.is_empty()
    }

    /// The JSON line: `{"scenario", "passed", ...figures, "violations"}`.
    pub(crate) fn json(&self) -> Value {
        let mut object = Map::new();
        let _ = object.insert("scenario".into(), Value::from(self.scenario.as_str()));
        let _ = object.insert("passed".into(), Value::from(self.passed()));
        for (k, v) in &self.figures {
            let _ = object.insert(k.clone(), v.clone());
        }
        let _ = object.insert(
            "violations".into(),
            Value::from(self.violations.len() as u64),
        );
        let listed: Vec<Value> = self
            .violations
            .iter()
            .take(LISTED)
            .map(|v| Value::from(v.as_str()))
            .collect();
        let _ = object.insert("violation_examples".into(), Value::from(listed));
        Value::Object(object)
    }

    /// Prints the JSON line, then the human summary, on stdout; appends the JSON line to
    /// `json_out` when given.
    pub(crate) fn print(&self, json_out: Option<&Path>) -> Result<()> {
        let json = self.json().to_string();
        let mut out = std::io::stdout().lock();
        writeln!(out, "{json}")?;
        let verdict = if self.passed() { "PASSED" } else { "FAILED" };
        writeln!(out, "== {}: {verdict}", self.scenario)?;
        for line in &self.lines {
            writeln!(out, "   {line}")?;
        }
        for v in self.violations.iter().take(LISTED) {
            writeln!(out, "   VIOLATION: {v}")?;
        }
        if self.violations.len() > LISTED {
            writeln!(
                out,
                "   … and {} more violations",
                self.violations.len() - LISTED
            )?;
        }
        out.flush()?;
        if let Some(path) = json_out {
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("cannot open {}", path.display()))?;
            writeln!(file, "{json}")?;
        }
        Ok(())
    }
}
